// The patient's photo page: pick or take photos, add a note to each, then send them
// one by one (a slow connection handles one file better than several at once).
// Each photo: ask the portal for an upload ticket, post the ticket's fields in order
// and the file last to the ticket's URL (S3 or the portal itself), then confirm it
// with its note. When every photo is in, "finish" announces the batch to the clinic.
(function () {
  "use strict";

  var root = document.getElementById("uploader");
  if (!root) {
    return;
  }
  var csrfToken = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  var maxFiles = parseInt(root.dataset.maxFiles || "10", 10);
  var list = document.getElementById("photo-list");
  var template = document.getElementById("photo-template");
  var sendButton = document.getElementById("send-button");
  var emptyState = document.getElementById("empty-state");
  var liveStatus = document.getElementById("live-status");
  var pageError = document.getElementById("page-error");
  var inputs = [document.getElementById("camera-input"), document.getElementById("library-input")];
  var photos = [];
  var sequence = 0;
  var sending = false;
  var AUTO_RETRIES = parseInt(root.dataset.autoRetries || "3", 10);

  function announce(text) {
    liveStatus.textContent = "";
    window.setTimeout(function () {
      liveStatus.textContent = text;
    }, 50);
  }

  function humanSize(bytes) {
    if (bytes >= 1024 * 1024) {
      return (bytes / (1024 * 1024)).toFixed(1) + " MB";
    }
    return Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function showError(message) {
    if (!message) {
      pageError.hidden = true;
      pageError.textContent = "";
      return;
    }
    pageError.innerHTML = "";
    var title = document.createElement("h2");
    title.className = "error-summary__title";
    title.textContent = "There is a problem";
    var text = document.createElement("p");
    text.className = "error-summary__note";
    text.textContent = message;
    pageError.appendChild(title);
    pageError.appendChild(text);
    pageError.hidden = false;
    pageError.focus();
  }

  function pending() {
    return photos.filter(function (photo) {
      return photo.status !== "done";
    });
  }

  function refresh() {
    emptyState.hidden = photos.length > 0;
    var waiting = pending().length;
    sendButton.disabled = sending || waiting === 0;
    if (sending) {
      sendButton.textContent = "Sending…";
    } else if (photos.length > 0 && waiting === 0) {
      sendButton.textContent = "Finish";
      sendButton.disabled = false;
    } else {
      sendButton.textContent = waiting === 1 ? "Send 1 photo" : "Send " + waiting + " photos";
      if (waiting === 0) {
        sendButton.textContent = "Send photos";
      }
    }
    inputs.forEach(function (input) {
      input.disabled = sending || photos.length >= maxFiles;
    });
  }

  function setState(photo, status, text, percent) {
    photo.status = status;
    photo.element.classList.toggle("photo--failed", status === "failed");
    photo.element.classList.toggle("photo--done", status === "done");
    photo.stateText.textContent = text;
    if (typeof percent === "number") {
      photo.progress.value = percent;
      photo.progress.setAttribute("aria-valuetext", percent + "%");
    }
    photo.retry.hidden = status !== "failed";
    photo.remove.hidden = status === "uploading" || status === "done";
    photo.note.readOnly = status === "uploading" || status === "done";
  }

  function addFiles(fileList) {
    showError("");
    var files = Array.prototype.slice.call(fileList || []);
    var room = maxFiles - photos.length;
    if (files.length > room) {
      showError("You can send up to " + maxFiles + " photos. Only the first " + room + " were added.");
      files = files.slice(0, Math.max(0, room));
    }
    files.forEach(function (file) {
      sequence += 1;
      var element = template.content.firstElementChild.cloneNode(true);
      var noteId = "note-" + sequence;
      var nameId = "name-" + sequence;
      var progressId = "progress-" + sequence;
      var photo = {
        key: sequence,
        file: file,
        status: "ready",
        element: element,
        note: element.querySelector(".photo__note"),
        progress: element.querySelector(".progress"),
        stateText: element.querySelector(".photo__state"),
        retry: element.querySelector(".photo__retry"),
        remove: element.querySelector(".photo__remove"),
        previewUrl: URL.createObjectURL(file),
      };
      var preview = element.querySelector(".photo__preview");
      preview.src = photo.previewUrl;
      preview.alt = "Preview of photo " + (photos.length + 1);
      var name = element.querySelector(".photo__name");
      name.textContent = file.name || "Photo " + (photos.length + 1);
      name.id = nameId;
      element.querySelector(".photo__size").textContent = humanSize(file.size);
      element.querySelector(".photo__note-label").setAttribute("for", noteId);
      photo.note.id = noteId;
      photo.note.setAttribute("aria-describedby", nameId);
      photo.progress.id = progressId;
      photo.progress.setAttribute("aria-labelledby", nameId);
      element.querySelector(".photo__remove-label").textContent = " " + name.textContent;
      photo.remove.addEventListener("click", function () {
        removePhoto(photo);
      });
      photo.retry.addEventListener("click", function () {
        retryPhoto(photo);
      });
      photos.push(photo);
      list.appendChild(element);
    });
    if (files.length) {
      announce(photos.length === 1 ? "1 photo added" : photos.length + " photos added");
    }
    refresh();
  }

  function removePhoto(photo) {
    var index = photos.indexOf(photo);
    if (index < 0 || photo.status === "uploading" || photo.status === "done") {
      return;
    }
    URL.revokeObjectURL(photo.previewUrl);
    photos.splice(index, 1);
    photo.element.remove();
    announce("Photo removed");
    refresh();
    var next = photos[index] || photos[index - 1];
    (next ? next.note : inputs[1]).focus();
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (!response.ok) {
            var error = new Error(data.error || "The server answered " + response.status + ".");
            error.permanent = response.status >= 400 && response.status < 500 && response.status !== 429;
            error.status = response.status;
            throw error;
          }
          return data;
        });
    });
  }

  var postToStorage = window.PortalStorage.postToStorage; // static/js/storage-post.js

  function uploadOnce(photo) {
    setState(photo, "uploading", "Preparing…", 0);
    return postJson(root.dataset.ticketUrl, {
      name: photo.file.name || "photo.jpg",
      size: photo.file.size,
      type: photo.file.type || "",
    })
      .then(function (ticket) {
        setState(photo, "uploading", "Sending… 0%", 0);
        return postToStorage(ticket, photo.file, function (percent) {
          setState(photo, "uploading", "Sending… " + percent + "%", Math.min(percent, 99));
        }).then(function () {
          return ticket;
        });
      })
      .then(function (ticket) {
        setState(photo, "uploading", "Almost done…", 99);
        return postJson(root.dataset.confirmUrl, {
          ticketId: ticket.ticketId,
          description: photo.note.value.trim(),
        });
      })
      .then(function (result) {
        photo.fileId = result.fileId;
        setState(photo, "done", "Sent", 100);
      });
  }

  function wait(ms) {
    return new Promise(function (resolve) {
      window.setTimeout(resolve, ms);
    });
  }

  function uploadWithRetries(photo, attempt) {
    return uploadOnce(photo).catch(function (error) {
      if (error.permanent || attempt >= AUTO_RETRIES) {
        setState(photo, "failed", "Not sent: " + error.message + " Press Try again.", 0);
        throw error;
      }
      setState(photo, "uploading", "Connection problem, trying again…", 0);
      return wait(1500 * Math.pow(2, attempt)).then(function () {
        return uploadWithRetries(photo, attempt + 1);
      });
    });
  }

  function sendAll() {
    if (sending) {
      return;
    }
    showError("");
    sending = true;
    refresh();
    var queue = pending();
    var failures = 0;
    var chain = Promise.resolve();
    queue.forEach(function (photo, index) {
      chain = chain.then(function () {
        announce("Sending photo " + (index + 1) + " of " + queue.length);
        return uploadWithRetries(photo, 0).catch(function () {
          failures += 1;
        });
      });
    });
    chain.then(function () {
      sending = false;
      refresh();
      if (failures) {
        showError(
          (failures === 1 ? "1 photo was" : failures + " photos were") +
            " not sent. Check your signal, then press Try again on the photo."
        );
        return;
      }
      finish();
    });
  }

  function retryPhoto(photo) {
    if (sending) {
      return;
    }
    showError("");
    sending = true;
    refresh();
    uploadWithRetries(photo, AUTO_RETRIES)
      .then(
        function () {
          sending = false;
          refresh();
          if (pending().length === 0) {
            finish();
          }
        },
        function () {
          sending = false;
          refresh();
          photo.retry.focus();
        }
      );
  }

  function finish() {
    sending = true;
    refresh();
    announce("All photos sent. Telling the clinic…");
    postJson(root.dataset.finishUrl, {})
      .then(function () {
        window.location.assign(root.dataset.doneUrl);
      })
      .catch(function (error) {
        sending = false;
        refresh();
        showError("Your photos are saved, but we could not tell the clinic yet: " + error.message + " Press Finish to try again.");
      });
  }

  inputs.forEach(function (input) {
    input.addEventListener("change", function () {
      addFiles(input.files);
      input.value = "";
    });
  });
  sendButton.addEventListener("click", function () {
    if (photos.length > 0 && pending().length === 0) {
      finish();
    } else {
      sendAll();
    }
  });
  refresh();
})();
