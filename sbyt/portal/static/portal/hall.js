/* The client hall's devices: the kiosk's digit pads, idle return and printing; the hall display's live
   update, chime (WebAudio) and spoken number (the browser's speech synthesis). No network but our own site. */
(function () {
  "use strict";

  var body = document.body;

  // -- digit pads: the kiosk has no keyboard -------------------------------------------------------------
  document.querySelectorAll(".pad[data-pad-for]").forEach(function (pad) {
    var input = document.getElementById(pad.getAttribute("data-pad-for"));
    if (!input) return;
    var max = parseInt(input.getAttribute("maxlength") || "20", 10);
    pad.addEventListener("click", function (event) {
      var key = event.target.closest("[data-key]");
      if (!key) return;
      var value = input.value;
      var k = key.getAttribute("data-key");
      if (k === "clear") value = "";
      else if (k === "back") value = value.slice(0, -1);
      else if (value.length < max) value += k;
      input.value = value;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });

  // -- back to the start screen when nobody touches the kiosk -----------------------------------------------
  var idleUrl = body.getAttribute("data-idle-url");
  if (idleUrl) {
    var idleMs = parseInt(body.getAttribute("data-idle-seconds") || "60", 10) * 1000;
    var timer = null;
    var restart = function () {
      clearTimeout(timer);
      timer = setTimeout(function () { window.location.href = idleUrl; }, idleMs);
    };
    ["pointerdown", "keydown", "input"].forEach(function (name) {
      document.addEventListener(name, restart, { passive: true });
    });
    restart();
  }

  // -- the ticket prints itself (Chromium with --kiosk-printing prints without a dialog) -----------------------
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  if (body.hasAttribute("data-autoprint")) {
    window.addEventListener("load", function () { setTimeout(function () { window.print(); }, 300); });
  }

  // -- the hall display -----------------------------------------------------------------------------------------
  var stateUrl = body.getAttribute("data-state-url");
  if (!stateUrl) return;
  var pollMs = parseInt(body.getAttribute("data-poll-ms") || "2000", 10);
  var latest = parseInt(body.getAttribute("data-latest") || "0", 10);
  var sayTicket = body.getAttribute("data-say-ticket") || "Талон";
  var sayWindow = body.getAttribute("data-say-window") || "окно";
  var callsList = document.getElementById("calls");
  var linesList = document.getElementById("lines");
  var clock = document.getElementById("display-clock");
  var announce = document.getElementById("announce");
  var soundButton = document.getElementById("sound-on");
  var minutesTemplate = (document.getElementById("t-minutes") || { innerHTML: "~{minutes}" }).innerHTML.trim();
  var noWait = (document.getElementById("t-no-wait") || { innerHTML: "—" }).innerHTML.trim();
  var audio = null;

  function audioContext() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio) audio = new Ctx();
    return audio;
  }

  function soundState() {
    var ctx = audioContext();
    if (soundButton) soundButton.hidden = !ctx || ctx.state === "running";
  }

  if (soundButton) {
    soundButton.addEventListener("click", function () {
      var ctx = audioContext();
      if (ctx) ctx.resume().then(soundState);
      if (window.speechSynthesis) window.speechSynthesis.speak(new SpeechSynthesisUtterance(""));
    });
  }
  soundState();

  function chime() {
    var ctx = audioContext();
    if (!ctx || ctx.state !== "running") return 0;
    var start = ctx.currentTime + 0.05;
    [[659.25, 0], [523.25, 0.45]].forEach(function (note) {  // E5 then C5: a two-tone "ding-dong"
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = note[0];
      gain.gain.setValueAtTime(0.0001, start + note[1]);
      gain.gain.exponentialRampToValueAtTime(0.5, start + note[1] + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + note[1] + 0.9);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + note[1]);
      osc.stop(start + note[1] + 1);
    });
    return 1300;
  }

  var voice = null;
  function russianVoice() {
    if (!window.speechSynthesis) return null;
    var voices = window.speechSynthesis.getVoices().filter(function (v) { return /^ru/i.test(v.lang); });
    // Only voices of this machine: a network voice would send the hall's calls to the internet.
    return voices.filter(function (v) { return v.localService; })[0] || null;
  }
  if (window.speechSynthesis) {
    voice = russianVoice();
    window.speechSynthesis.addEventListener("voiceschanged", function () { voice = russianVoice(); });
  }

  function spoken(call) {
    // "К-015" → "Талон К 15, окно 3" (letters one by one, the number without leading zeros).
    var parts = call.number.split("-");
    var letters = parts[0].split("").join(" ");
    var digits = String(parseInt(parts[1], 10));
    return sayTicket + " " + letters + " " + digits + ", " + sayWindow + " " + call.window;
  }

  function speak(text, delay) {
    if (announce) announce.textContent = text;
    if (!window.speechSynthesis || !voice) return;
    setTimeout(function () {
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = "ru-RU";
      utterance.voice = voice;
      utterance.rate = 0.9;
      window.speechSynthesis.speak(utterance);
    }, delay);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderCalls(calls, fresh) {
    callsList.textContent = "";
    if (!calls.length) {
      var empty = document.getElementById("t-empty");
      if (empty) callsList.appendChild(empty.content.cloneNode(true));
      return;
    }
    calls.forEach(function (call, index) {
      var li = el("li", "call" + (index === 0 ? " newest" : "") + (fresh[call.event] ? " flash" : ""));
      li.setAttribute("data-event", call.event);
      var number = el("span", "call-number", call.number);
      if (call.was) number.appendChild(el("small", "", " (" + call.was + ")"));
      var arrow = el("span", "call-arrow", "→");
      arrow.setAttribute("aria-hidden", "true");
      var windowCell = el("span", "call-window");
      windowCell.appendChild(el("span", "visually-hidden", sayWindow + " "));
      windowCell.appendChild(document.createTextNode(call.window));
      li.appendChild(number);
      li.appendChild(arrow);
      li.appendChild(windowCell);
      callsList.appendChild(li);
    });
  }

  function renderLines(lines) {
    if (!linesList) return;
    linesList.textContent = "";
    lines.forEach(function (line) {
      var li = el("li");
      li.appendChild(el("span", "line-name", line.service));
      li.appendChild(el("span", "line-count", String(line.waiting)));
      var wait = !line.waiting ? noWait : line.minutes === null ? "—" : minutesTemplate.replace("{minutes}", line.minutes);
      li.appendChild(el("span", "line-wait", wait));
      linesList.appendChild(li);
    });
  }

  function update(state) {
    if (clock && state.clock) clock.textContent = state.clock;
    var fresh = {};
    var toAnnounce = state.calls
      .filter(function (call) { return call.event > latest; })
      .sort(function (a, b) { return a.event - b.event; });
    toAnnounce.forEach(function (call) { fresh[call.event] = true; });
    renderCalls(state.calls, fresh);
    renderLines(state.lines);
    if (state.latest > latest) latest = state.latest;
    var delay = 0;
    toAnnounce.forEach(function (call) {
      delay += chime();
      speak(spoken(call), delay);
      delay += 2500;
    });
  }

  function poll() {
    fetch(stateUrl, { headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 403) { window.location.reload(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (state) { if (state) update(state); })
      .catch(function () { /* the network will be back: keep the last state on screen */ })
      .finally(function () { setTimeout(poll, pollMs); });
  }
  setTimeout(poll, pollMs);
})();
