/* The photos a request's template asks for, one card each ("Close-up, in focus").
   A card's buttons open the page's own camera or photo picker for that step; the photo
   is then added as any other (upload.js asks ``PhotoSlots.take()`` which step it is for)
   and sent with the step's id. Before sending, a step left without a photo is said
   plainly, and the patient may send all the same. Extra photos go through the pickers
   below the cards. Without slots on the page this script does nothing. */
(function () {
  "use strict";
  var list = document.getElementById("slots");
  if (!list) {
    return;
  }
  var cards = Array.prototype.slice.call(list.querySelectorAll("[data-slot-id]"));
  var camera = document.getElementById("camera-input");
  var library = document.getElementById("library-input");
  var warning = document.getElementById("slots-warning");
  var sendButton = document.getElementById("send-button");
  var pending = "";
  var acknowledged = "";

  function labelOf(id) {
    var card = cards.filter(function (c) { return c.getAttribute("data-slot-id") === id; })[0];
    return card ? card.getAttribute("data-slot-label") : "";
  }

  cards.forEach(function (card) {
    var id = card.getAttribute("data-slot-id");
    card.querySelector("[data-slot-take]").addEventListener("click", function () {
      pending = id;
      camera.click();
    });
    card.querySelector("[data-slot-choose]").addEventListener("click", function () {
      pending = id;
      library.click();
    });
  });
  // The pickers below the cards add extra photos, for no step.
  Array.prototype.forEach.call(document.querySelectorAll(".picker__label"), function (label) {
    label.addEventListener("click", function () { pending = ""; });
  });

  function live(photos) {
    return photos.filter(function (photo) { return photo.status !== "rejected"; });
  }

  function empty(photos) {
    var taken = live(photos).map(function (photo) { return photo.slotId; });
    return cards.filter(function (card) {
      return taken.indexOf(card.getAttribute("data-slot-id")) < 0;
    });
  }

  window.PhotoSlots = {
    // The step the photo being added is for ("" for an extra), once.
    take: function () {
      var id = pending;
      pending = "";
      return id;
    },
    // Each card says whether it has its photo; each photo says which step it is.
    update: function (photos) {
      var counts = {};
      live(photos).forEach(function (photo) {
        counts[photo.slotId || ""] = (counts[photo.slotId || ""] || 0) + 1;
      });
      cards.forEach(function (card) {
        var has = counts[card.getAttribute("data-slot-id")] || 0;
        card.classList.toggle("slot--done", has > 0);
        var status = card.querySelector(".slot__status");
        var text = has ? "Photo added" : "No photo yet";
        if (status.textContent !== text) {
          status.textContent = text;
        }
      });
      photos.forEach(function (photo) {
        var line = photo.element.querySelector(".photo__slot");
        if (!line) {
          line = document.createElement("p");
          line.className = "photo__slot small";
          var meta = photo.element.querySelector(".photo__meta");
          meta.insertBefore(line, meta.firstChild);
        }
        var label = labelOf(photo.slotId || "");
        line.textContent = label ? "For: " + label : "Extra photo";
      });
      if (warning && !empty(photos).length) {
        warning.hidden = true;
      }
    },
    // Whether to send now: a step without a photo is said first, once per set of gaps.
    readyToSend: function (photos) {
      var gaps = empty(photos);
      var key = gaps.map(function (card) { return card.getAttribute("data-slot-id"); }).join(",");
      if (!gaps.length || key === acknowledged) {
        return true;
      }
      var names = gaps.map(function (card) { return card.getAttribute("data-slot-label"); });
      warning.textContent = "";
      var text = document.createElement("p");
      text.textContent = (names.length === 1 ? "There is no photo for: " : "There are no photos for: ") +
        names.join(", ") + ". You can add " + (names.length === 1 ? "it" : "them") +
        " above, or send without.";
      var anyway = document.createElement("button");
      anyway.type = "button";
      anyway.className = "button button--secondary button--small";
      anyway.textContent = "Send without " + (names.length === 1 ? "it" : "them");
      anyway.addEventListener("click", function () {
        acknowledged = key;
        warning.hidden = true;
        sendButton.click();
      });
      warning.appendChild(text);
      warning.appendChild(anyway);
      warning.hidden = false;
      warning.focus();
      return false;
    },
  };
})();
