/* The review loop's live parts on every dashboard page: the Inbox count in the menu and
   the tab title, a notice when photos arrive for a request you sent, and (if you turned
   it on in this browser) a browser notification. Polls /inbox/status/ while the tab is
   visible. Notices name no patient. */
(function () {
  "use strict";

  var nav = document.querySelector("[data-review-nav]");
  if (!nav) {
    return;
  }
  var statusUrl = nav.getAttribute("data-status-url");
  var POLL_MS = 10000;
  var SEEN_KEY = "portal.review.seenArrival";
  var BROWSER_KEY = "portal.review.browserNotifications";
  var baseTitle = document.title.replace(/^\(\d+\)\s+/, "");
  var openedWith = null;

  function storage(key, value) {
    try {
      if (value === undefined) { return window.localStorage.getItem(key); }
      window.localStorage.setItem(key, value);
    } catch (error) { /* private mode: no memory between pages */ }
    return null;
  }

  function showCounts(counts) {
    document.querySelectorAll("[data-review-count]").forEach(function (element) {
      var value = counts[element.getAttribute("data-review-count")] || 0;
      element.textContent = String(value);
      if (element.classList.contains("nav-count")) { element.hidden = value === 0; }
    });
    var words = nav.querySelector("[data-review-count-words]");
    if (words) { words.textContent = counts.clinic ? " (" + counts.clinic + " to review)" : ""; }
    document.title = (counts.clinic ? "(" + counts.clinic + ") " : "") + baseTitle;
    var live = document.querySelector("[data-inbox-live]");
    if (live) {
      if (openedWith === null) { openedWith = counts.clinic; }
      var added = counts.clinic - openedWith;
      live.hidden = added <= 0;
      live.querySelector("[data-inbox-live-text]").textContent =
        added + " new file" + (added === 1 ? "" : "s") + " since you opened this page.";
    }
  }

  function toast(arrival) {
    var region = document.getElementById("review-toast");
    if (!region) {
      region = document.createElement("div");
      region.id = "review-toast";
      region.className = "review-toast";
      region.setAttribute("role", "status");
      document.body.appendChild(region);
    }
    region.textContent = "";
    var text = document.createElement("span");
    text.textContent = "New photos arrived for a request you sent. ";
    var link = document.createElement("a");
    link.href = "/file-requests/" + arrival.id + "/";
    link.textContent = "Open";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "message-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { region.textContent = ""; region.hidden = true; });
    region.append(text, link, close);
    region.hidden = false;
  }

  function notify(arrival) {
    toast(arrival);
    if (storage(BROWSER_KEY) === "on" && "Notification" in window && Notification.permission === "granted") {
      var notice = new Notification("New photos to review", {
        body: "A patient has sent photos for a request you sent.",
        tag: "portal-arrival-" + arrival.id
      });
      notice.onclick = function () { window.focus(); window.location.href = "/file-requests/" + arrival.id + "/"; };
    }
  }

  function showArrivals(arrivals) {
    if (!arrivals || !arrivals.length) {
      // Nothing waits yet: anything that arrives from now on is news.
      if (storage(SEEN_KEY) === null) { storage(SEEN_KEY, ""); }
      return;
    }
    var latest = arrivals[0];
    var seen = storage(SEEN_KEY);
    storage(SEEN_KEY, latest.arrivedAt);
    if (seen !== null && latest.arrivedAt > seen && window.location.pathname !== "/file-requests/" + latest.id + "/") {
      notify(latest);
    }
  }

  function poll() {
    if (document.visibilityState === "hidden") { return; }
    fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") === -1) { throw new Error("signed out"); }
        return response.json();
      })
      .then(function (body) { showCounts(body); showArrivals(body.arrivals); })
      .catch(function () { /* try again next time */ });
  }

  // The Notifications page's button: ask the browser, remember the choice here.
  var button = document.querySelector("[data-browser-notifications]");
  var status = document.querySelector("[data-browser-notifications-status]");
  function describe() {
    if (!button) { return; }
    if (!("Notification" in window)) {
      button.disabled = true;
      status.textContent = "This browser cannot show notifications.";
      return;
    }
    var on = storage(BROWSER_KEY) === "on" && Notification.permission === "granted";
    button.textContent = on ? "Turn off browser notifications" : "Turn on browser notifications";
    status.textContent = Notification.permission === "denied"
      ? "Notifications are blocked for this site in the browser's settings."
      : (on ? "On in this browser." : "Off in this browser.");
  }
  if (button) {
    button.addEventListener("click", function () {
      if (storage(BROWSER_KEY) === "on") {
        storage(BROWSER_KEY, "off");
        describe();
        return;
      }
      Notification.requestPermission().then(function (permission) {
        storage(BROWSER_KEY, permission === "granted" ? "on" : "off");
        describe();
      });
    });
    describe();
  }

  poll();
  window.setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
})();
