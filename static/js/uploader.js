/* Drag-and-drop upload of several files to a patient's record, straight to storage.
   Each file: ask the dashboard for an upload ticket, post the ticket's fields in order
   and the file last to the ticket's URL (S3, or the portal's own storage endpoint) with
   a progress bar, then confirm the ticket, which makes the attachment. The gallery is
   told (htmx event "attachments-changed") as each file lands. */
(function () {
  "use strict";

  var zone = document.querySelector("[data-uploader]");
  if (!zone) {
    return;
  }
  var section = zone.closest("section") || zone;
  var input = document.getElementById("upload-input");
  var list = document.getElementById("upload-list");
  var template = document.getElementById("upload-template");
  var announcer = document.getElementById("upload-announcer");
  var maxBytes = parseInt(zone.getAttribute("data-max-bytes") || "0", 10);
  var PARALLEL = 3;
  var queue = [];
  var running = 0;
  var dragDepth = 0;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (error) {
      return "";
    }
  }

  function humanSize(bytes) {
    if (bytes >= 1024 * 1024) {
      return (bytes / (1024 * 1024)).toFixed(1) + " MB";
    }
    return Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function announce(text) {
    announcer.textContent = text;
  }

  function setState(upload, state, text, percent) {
    upload.element.setAttribute("data-state", state);
    upload.status.textContent = text;
    if (typeof percent === "number") {
      upload.progress.value = percent;
      upload.progress.textContent = percent + "%";
    }
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (!response.ok) {
            throw new Error(data.error || "The portal answered " + response.status + ".");
          }
          return data;
        });
    });
  }

  var postToStorage = window.PortalStorage.postToStorage; // static/js/storage-post.js

  function upload(item) {
    setState(item, "uploading", "Preparing…", 0);
    return postJson(zone.getAttribute("data-ticket-url"), {
      name: item.file.name,
      size: item.file.size,
      type: item.file.type || "",
    })
      .then(function (ticket) {
        setState(item, "uploading", "0%", 0);
        return postToStorage(ticket, item.file, function (percent) {
          setState(item, "uploading", percent + "%", Math.min(percent, 99));
        }).then(function () {
          return ticket;
        });
      })
      .then(function (ticket) {
        setState(item, "uploading", "Saving…", 99);
        return postJson(zone.getAttribute("data-confirm-url"), { ticketId: ticket.ticketId });
      })
      .then(function () {
        setState(item, "done", "Uploaded", 100);
        announce(item.file.name + " uploaded. It appears in the gallery once checked.");
        if (window.htmx) {
          window.htmx.trigger(document.body, "attachments-changed");
        }
        window.setTimeout(function () {
          item.element.remove();
          list.hidden = !list.children.length;
        }, 6000);
      })
      .catch(function (error) {
        setState(item, "failed", error.message, 0);
        announce(item.file.name + " was not uploaded: " + error.message);
      });
  }

  function pump() {
    while (running < PARALLEL && queue.length) {
      var item = queue.shift();
      running += 1;
      upload(item).then(function () {
        running -= 1;
        pump();
      });
    }
  }

  function add(files) {
    Array.prototype.forEach.call(files || [], function (file) {
      var element = template.content.firstElementChild.cloneNode(true);
      var item = {
        file: file,
        element: element,
        status: element.querySelector(".upload-status"),
        progress: element.querySelector(".upload-progress"),
      };
      var name = element.querySelector(".upload-name");
      name.textContent = file.name + " · " + humanSize(file.size);
      item.progress.setAttribute("aria-label", "Upload of " + file.name);
      list.appendChild(element);
      if (maxBytes && file.size > maxBytes) {
        setState(item, "failed", "Larger than " + humanSize(maxBytes) + ".", 0);
        return;
      }
      if (!file.size) {
        setState(item, "failed", "The file is empty.", 0);
        return;
      }
      setState(item, "queued", "Waiting…", 0);
      queue.push(item);
    });
    list.hidden = !list.children.length;
    if (files && files.length) {
      announce(files.length === 1 ? "Uploading 1 file" : "Uploading " + files.length + " files");
    }
    pump();
  }

  input.addEventListener("change", function () {
    add(input.files);
    input.value = "";
  });

  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return types && Array.prototype.indexOf.call(types, "Files") >= 0;
  }

  section.addEventListener("dragenter", function (event) {
    if (!hasFiles(event)) {
      return;
    }
    event.preventDefault();
    dragDepth += 1;
    zone.classList.add("is-dragging");
  });
  section.addEventListener("dragover", function (event) {
    if (hasFiles(event)) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    }
  });
  section.addEventListener("dragleave", function () {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) {
      zone.classList.remove("is-dragging");
    }
  });
  section.addEventListener("drop", function (event) {
    event.preventDefault();
    dragDepth = 0;
    zone.classList.remove("is-dragging");
    add(event.dataTransfer && event.dataTransfer.files);
  });
  // A file dropped beside the zone must not make the browser leave the page to show it.
  window.addEventListener("dragover", function (event) {
    if (hasFiles(event)) {
      event.preventDefault();
    }
  });
  window.addEventListener("drop", function (event) {
    if (hasFiles(event)) {
      event.preventDefault();
    }
  });
})();
