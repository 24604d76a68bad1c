// The confirmation: show the time sent in the phone's own time zone, and while any photo
// is still being checked, look again every few seconds and reload once all are decided.
(function () {
  "use strict";
  document.querySelectorAll("time.local-time").forEach(function (element) {
    var when = new Date(element.getAttribute("datetime"));
    if (!isNaN(when.getTime())) {
      element.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
  });
  var summary = document.getElementById("sent-summary");
  if (!summary || summary.dataset.checking !== "true") {
    return;
  }
  var tries = 0;
  function look() {
    tries += 1;
    fetch(summary.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        var stillChecking = !body || body.files.some(function (file) {
          return file.state === "processing";
        });
        if (!stillChecking) {
          window.location.reload();
        } else if (tries < 60) {
          window.setTimeout(look, 3000);
        }
      })
      .catch(function () {
        if (tries < 60) {
          window.setTimeout(look, 6000);
        }
      });
  }
  window.setTimeout(look, 2000);
})();
