/* The live hall on the statistics page: reload its fragment every N seconds while the tab is visible.
   Without JavaScript the page shows the state at load time (and a refresh link). */
(function () {
  "use strict";
  var box = document.getElementById("hall");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-refresh-url");
  var seconds = parseInt(box.getAttribute("data-refresh-seconds"), 10) || 15;
  function refresh() {
    if (document.hidden) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || !response.ok) {  // logged out or no longer allowed: show the real page
          window.location.reload();
          return null;
        }
        return response.text();
      })
      .then(function (html) { if (html !== null) { box.innerHTML = html; } })
      .catch(function () { /* offline for a moment: try again next time */ });
  }
  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", refresh);
}());
