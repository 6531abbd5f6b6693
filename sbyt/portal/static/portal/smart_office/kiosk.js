/* Smart-office terminal: end a forgotten session. After N seconds without a touch, a key or a scroll the page
   asks «are you still here?» and counts down; at zero it ends the session (the finish form) or, before login,
   returns to the terminal's start screen. While the client is active the page pings the server at most once a
   minute, which keeps the short server-side session alive; without JavaScript that expiry alone ends it. */
(function () {
  "use strict";
  var bar = document.getElementById("kiosk-bar");
  var dialog = document.getElementById("kiosk-warning");
  if (!bar || !dialog) { return; }
  var idle = parseInt(bar.getAttribute("data-idle-seconds"), 10) || 120;
  var warning = parseInt(bar.getAttribute("data-warning-seconds"), 10) || 30;
  var pingEvery = (parseInt(bar.getAttribute("data-keepalive-seconds"), 10) || 60) * 1000;
  var keepaliveUrl = bar.getAttribute("data-keepalive-url");
  var homeUrl = bar.getAttribute("data-home-url");
  var finishForm = document.getElementById("kiosk-finish");
  var countdown = document.getElementById("kiosk-countdown");
  var continueButton = document.getElementById("kiosk-continue");
  var atHome = !finishForm && window.location.pathname === new URL(homeUrl, window.location.href).pathname;
  var idleTimer = null;
  var tick = null;
  var left = warning;
  var active = false;
  var lastPing = Date.now();

  function csrfToken() {
    var field = finishForm && finishForm.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) { return field.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function end() {
    window.clearInterval(tick);
    if (finishForm) { finishForm.submit(); } else { window.location.assign(homeUrl); }
  }

  function showWarning() {
    left = warning;
    countdown.textContent = String(left);
    dialog.hidden = false;
    continueButton.focus();
    tick = window.setInterval(function () {
      left -= 1;
      countdown.textContent = String(Math.max(left, 0));
      if (left <= 0) { end(); }
    }, 1000);
  }

  function restart() {
    window.clearTimeout(idleTimer);
    if (!atHome) { idleTimer = window.setTimeout(showWarning, idle * 1000); }
  }

  function ping() {
    if (!active || Date.now() - lastPing < pingEvery || !window.fetch) { return; }
    active = false;
    lastPing = Date.now();
    fetch(keepaliveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() }
    }).catch(function () { /* the next touch tries again */ });
  }

  function activity() {
    if (!dialog.hidden) { return; }  // only «Continue» dismisses the warning
    active = true;
    restart();
    ping();
  }

  continueButton.addEventListener("click", function () {
    window.clearInterval(tick);
    dialog.hidden = true;
    active = true;
    lastPing = 0;
    restart();
    ping();
  });
  ["pointerdown", "keydown", "touchstart", "wheel", "input"].forEach(function (name) {
    document.addEventListener(name, activity, { passive: true, capture: true });
  });
  window.setInterval(ping, pingEvery);
  restart();
}());
