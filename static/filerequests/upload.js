// The patient's photo page: pick or take photos, add a note to each, then send them
// one by one (a slow connection handles one file better than several at once).
//
// Before a photo is added, its first bytes are checked (filetype.js): a PDF or any type
// the clinic refuses is turned away on the phone, in plain words. Each added photo is
// checked for blur, darkness and glare (quality.js): a hint the patient may overrule.
// Each photo: ask the portal for an upload ticket, post the ticket's fields in order and
// the file last to the ticket's URL (S3 or the portal itself), then confirm it with its
// note. A lost connection is retried on its own, with growing pauses. Then the page waits
// for the clinic's checks (the status endpoint) and tells the patient which photos were
// received and which could not be used, and why; only received photos are called sent.
// When every photo is in, "finish" announces the batch to the clinic.
(function () {
  "use strict";

  var root = document.getElementById("uploader");
  if (!root) {
    return;
  }
  var csrfToken = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  var maxFiles = parseInt(root.dataset.maxFiles || "10", 10);
  var AUTO_RETRIES = parseInt(root.dataset.autoRetries || "3", 10);
  var FIRST_PAUSE_MS = 1500;
  var POLL_MS = 1500;
  var POLL_LIMIT_MS = 3 * 60 * 1000;
  var list = document.getElementById("photo-list");
  var template = document.getElementById("photo-template");
  var sendButton = document.getElementById("send-button");
  var sendBar = document.getElementById("send-bar");
  var sendCount = document.getElementById("send-count");
  var sendProgress = document.getElementById("send-progress");
  var emptyState = document.getElementById("empty-state");
  var liveStatus = document.getElementById("live-status");
  var pageError = document.getElementById("page-error");
  var cameraInput = document.getElementById("camera-input");
  var libraryInput = document.getElementById("library-input");
  var inputs = [cameraInput, libraryInput];
  var reducedMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var photos = [];
  var sequence = 0;
  var busy = ""; // "", "checking-files", "sending", "waiting" or "finishing"
  var replacing = null; // the photo "Take it again" or "Choose another photo" will replace

  var NETWORK_WORDS = "Your phone lost its connection.";

  function announce(text) {
    liveStatus.textContent = "";
    window.setTimeout(function () {
      liveStatus.textContent = text;
    }, 50);
  }

  function plural(count, one, many) {
    return count === 1 ? "1 " + one : count + " " + many;
  }

  function humanSize(bytes) {
    if (bytes >= 1024 * 1024) {
      return (bytes / (1024 * 1024)).toFixed(1) + " MB";
    }
    return Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function showError(message, items, focus) {
    if (!message) {
      pageError.hidden = true;
      pageError.textContent = "";
      return;
    }
    pageError.innerHTML = "";
    var title = document.createElement("h2");
    title.className = "error-summary__title";
    title.textContent = "There is a problem";
    pageError.appendChild(title);
    var text = document.createElement("p");
    text.className = "error-summary__note";
    text.textContent = message;
    pageError.appendChild(text);
    if (items && items.length) {
      var ul = document.createElement("ul");
      ul.className = "error-summary__list";
      items.forEach(function (item) {
        var li = document.createElement("li");
        var name = document.createElement("strong");
        name.textContent = item.name + ": ";
        li.appendChild(name);
        li.appendChild(document.createTextNode(item.reason));
        ul.appendChild(li);
      });
      pageError.appendChild(ul);
    }
    pageError.hidden = false;
    if (focus !== false) {
      pageError.focus({ preventScroll: true });
      reveal(pageError);
    }
  }

  function reveal(element) {
    element.scrollIntoView({ block: "center", behavior: reducedMotion ? "auto" : "smooth" });
  }

  function toSend() {
    return photos.filter(function (photo) {
      return photo.status === "ready" || photo.status === "failed";
    });
  }

  function withStatus(status) {
    return photos.filter(function (photo) {
      return photo.status === status;
    });
  }

  // --- The sticky send bar: count, overall progress, the one button ------------------

  function overallPercent() {
    var sending = photos.filter(function (photo) {
      return photo.inBatch;
    });
    if (!sending.length) {
      return 0;
    }
    var total = sending.reduce(function (sum, photo) {
      return sum + (photo.percent || 0);
    }, 0);
    return Math.round(total / sending.length);
  }

  function refresh() {
    emptyState.hidden = photos.length > 0;
    sendBar.classList.toggle("sendbar--sticky", photos.length > 0);
    var waiting = toSend().length;
    var received = withStatus("received").length;
    var label;
    var summary;
    sendButton.disabled = Boolean(busy);
    if (busy === "sending") {
      var percent = overallPercent();
      label = "Sending…";
      summary = "Sending " + plural(batchSize(), "photo", "photos") + " · " + percent + "%";
      sendProgress.hidden = false;
      sendProgress.value = percent;
      sendProgress.setAttribute("aria-valuetext", percent + "%");
    } else if (busy === "waiting") {
      label = "Checking…";
      summary = "The clinic is checking your photos…";
      sendProgress.hidden = false;
      sendProgress.value = 100;
    } else if (busy === "finishing") {
      label = "Finishing…";
      summary = "Telling the clinic…";
    } else if (busy === "checking-files") {
      label = "Send photos";
      summary = "Looking at your photos…";
    } else if (waiting > 0) {
      label = waiting === 1 ? "Send 1 photo" : "Send " + waiting + " photos";
      summary = plural(waiting, "photo", "photos") + " ready to send" + (received ? " · " + received + " received" : "");
      sendProgress.hidden = true;
    } else if (received > 0) {
      label = "Finish";
      summary = plural(received, "photo", "photos") + " received by the clinic";
      sendProgress.hidden = true;
    } else {
      label = "Send photos";
      summary = "No photos chosen";
      sendButton.disabled = true;
      sendProgress.hidden = true;
    }
    sendButton.textContent = label;
    sendCount.textContent = summary;
    var room = photos.filter(function (photo) {
      return photo.status !== "rejected";
    }).length;
    inputs.forEach(function (input) {
      input.disabled = busy === "sending" || busy === "waiting" || busy === "finishing" || room >= maxFiles;
    });
  }

  function batchSize() {
    return photos.filter(function (photo) {
      return photo.inBatch;
    }).length;
  }

  // --- One photo's tile ------------------------------------------------------------

  var STATE_CLASSES = ["failed", "done", "rejected", "uploading", "waiting"];

  function setState(photo, status, text, percent) {
    photo.status = status;
    var look = { received: "done", rejected: "rejected", failed: "failed", uploading: "uploading", uploaded: "waiting" }[status];
    STATE_CLASSES.forEach(function (name) {
      photo.element.classList.toggle("photo--" + name, look === name);
    });
    photo.stateText.textContent = text;
    if (typeof percent === "number") {
      photo.percent = percent;
      photo.progress.value = percent;
      photo.progress.setAttribute("aria-valuetext", percent + "%");
    }
    photo.retry.hidden = status !== "failed";
    photo.another.hidden = status !== "rejected";
    photo.remove.hidden = status === "uploading" || status === "uploaded" || status === "received";
    photo.note.readOnly = status !== "ready" && status !== "failed";
    if (status !== "ready") {
      photo.hint.hidden = true;
    }
    refresh();
  }

  function showQualityHint(photo, assessment) {
    if (!assessment || !assessment.hint || photo.status !== "ready" || photo.kept) {
      return;
    }
    photo.quality = assessment;
    photo.hintText.textContent = assessment.hint;
    photo.hint.hidden = false;
    photo.element.classList.add("photo--hint");
    photo.replace.textContent = "Take it again";
    announce("Photo " + photo.position() + ": " + assessment.hint);
  }

  function keepPhoto(photo) {
    photo.kept = true;
    photo.hint.hidden = true;
    photo.element.classList.remove("photo--hint");
    announce("Photo kept");
    photo.note.focus();
  }

  function addTile(file) {
    sequence += 1;
    var element = template.content.firstElementChild.cloneNode(true);
    var noteId = "note-" + sequence;
    var nameId = "name-" + sequence;
    var hintId = "hint-" + sequence;
    var photo = {
      key: sequence,
      file: file,
      status: "ready",
      percent: 0,
      element: element,
      note: element.querySelector(".photo__note"),
      progress: element.querySelector(".progress"),
      stateText: element.querySelector(".photo__state"),
      retry: element.querySelector(".photo__retry"),
      another: element.querySelector(".photo__another"),
      remove: element.querySelector(".photo__remove"),
      hint: element.querySelector(".photo__hint"),
      hintText: element.querySelector(".photo__hint-text"),
      keep: element.querySelector(".photo__keep"),
      replace: element.querySelector(".photo__replace"),
      previewUrl: URL.createObjectURL(file),
      position: function () {
        return photos.indexOf(photo) + 1;
      },
    };
    var preview = element.querySelector(".photo__preview");
    preview.addEventListener("error", function () {
      // A file this browser cannot draw (HEIC outside Safari, or damaged): a plain tile.
      preview.alt = "";
      preview.removeAttribute("src");
      preview.classList.add("photo__preview--none");
    });
    preview.src = photo.previewUrl;
    preview.alt = "Preview of photo " + (photos.length + 1);
    var name = element.querySelector(".photo__name");
    name.textContent = file.name || "Photo " + (photos.length + 1);
    name.id = nameId;
    photo.name = name.textContent;
    element.querySelector(".photo__size").textContent = humanSize(file.size);
    element.querySelector(".photo__note-label").setAttribute("for", noteId);
    element.setAttribute("aria-labelledby", nameId);
    photo.note.id = noteId;
    photo.note.setAttribute("aria-describedby", nameId);
    photo.hintText.id = hintId;
    photo.progress.setAttribute("aria-labelledby", nameId);
    element.querySelector(".photo__remove-label").textContent = " " + name.textContent;
    photo.keep.setAttribute("aria-describedby", hintId);
    photo.remove.addEventListener("click", function () {
      removePhoto(photo);
    });
    photo.retry.addEventListener("click", function () {
      retryPhoto(photo);
    });
    photo.keep.addEventListener("click", function () {
      keepPhoto(photo);
    });
    // The photo goes only when its replacement is chosen: a patient who cancels the
    // camera keeps what they had.
    photo.replace.addEventListener("click", function () {
      replacing = photo;
      cameraInput.click();
    });
    photo.another.addEventListener("click", function () {
      replacing = photo;
      libraryInput.click();
    });
    photos.push(photo);
    list.appendChild(element);
    if (window.PhotoQuality) {
      window.PhotoQuality.assess(file).then(function (assessment) {
        showQualityHint(photo, assessment);
      });
    }
    return photo;
  }

  function judge(file) {
    if (!window.PhotoFileType) {
      return Promise.resolve({ accepted: true });
    }
    return window.PhotoFileType.check(file).catch(function () {
      return { accepted: true }; // unreadable here: the server decides
    });
  }

  function addFiles(fileList) {
    showError("");
    var files = Array.prototype.slice.call(fileList || []);
    if (!files.length) {
      return;
    }
    busy = "checking-files";
    refresh();
    Promise.all(files.map(judge)).then(function (judgements) {
      busy = "";
      var refused = [];
      var added = [];
      var skipped = 0;
      files.forEach(function (file, index) {
        var judgement = judgements[index];
        if (!judgement.accepted) {
          refused.push({ name: file.name || "The file", reason: judgement.reason });
          return;
        }
        var room = maxFiles - photos.filter(function (photo) {
          return photo.status !== "rejected";
        }).length;
        if (room <= 0) {
          skipped += 1;
          return;
        }
        added.push(addTile(file));
      });
      refresh();
      if (refused.length || skipped) {
        var message = refused.length
          ? (refused.length === 1 ? "This file cannot be sent." : "These files cannot be sent.") + " Only photos can be sent to the clinic."
          : "";
        if (skipped) {
          message += (message ? " " : "") + "You can send up to " + maxFiles + " photos; " + plural(skipped, "photo was", "photos were") + " not added.";
        }
        showError(message, refused, !added.length);
      }
      if (added.length) {
        announce(plural(added.length, "photo", "photos") + " added. " + plural(toSend().length, "photo", "photos") + " ready to send.");
        // Where the patient is looking: the new photos, not the top of a long list.
        reveal(added[0].element);
      } else if (refused.length) {
        announce("No photo added.");
      }
    });
  }

  function removePhoto(photo, quietly) {
    var index = photos.indexOf(photo);
    if (index < 0 || photo.status === "uploading" || photo.status === "uploaded" || photo.status === "received") {
      return;
    }
    URL.revokeObjectURL(photo.previewUrl);
    photos.splice(index, 1);
    photo.element.remove();
    refresh();
    if (quietly) {
      return;
    }
    announce("Photo removed");
    var next = photos[index] || photos[index - 1];
    (next ? next.note : libraryInput).focus();
  }

  // --- Talking to the portal ---------------------------------------------------------

  function networkError() {
    var error = new Error(NETWORK_WORDS);
    error.network = true;
    return error;
  }

  function request(url, options) {
    return fetch(url, options).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            if (!response.ok) {
              var serverError = response.status >= 500 || response.status === 429 || response.status === 408;
              var error = new Error(
                data.error || (serverError ? "The clinic's system did not answer." : "This photo was refused. Please choose it again.")
              );
              error.permanent = !serverError;
              error.status = response.status;
              throw error;
            }
            return data;
          });
      },
      function () {
        throw networkError(); // never the browser's "Failed to fetch"
      }
    );
  }

  function postJson(url, body) {
    return request(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body),
    });
  }

  function getJson(url) {
    return request(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  }

  var postToStorage = window.PortalStorage.postToStorage; // static/js/storage-post.js

  function storageError(error) {
    if (error.permanent) {
      var refused = new Error("The clinic's storage refused this photo. Please choose it again, or call the clinic.");
      refused.permanent = true;
      return refused;
    }
    return error.status ? Object.assign(new Error("The clinic's system did not answer."), { status: error.status }) : networkError();
  }

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
        }).then(
          function () {
            return ticket;
          },
          function (error) {
            throw storageError(error);
          }
        );
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
        // Not "sent" yet: the clinic's checks decide whether it can be used.
        setState(photo, "uploaded", "Arrived. The clinic is checking it…", 100);
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
        var advice = error.network ? " Check your signal, then press Try again." : " Press Try again.";
        setState(photo, "failed", "Not sent. " + error.message + (error.permanent ? "" : advice), 0);
        throw error;
      }
      var pause = FIRST_PAUSE_MS * Math.pow(2, attempt);
      var seconds = Math.round(pause / 1000);
      var words = error.network ? NETWORK_WORDS : error.message;
      setState(photo, "uploading", words + " We'll try again in " + seconds + " second" + (seconds === 1 ? "" : "s") + "…", 0);
      announce(words + " We'll try again…");
      return wait(pause).then(function () {
        return uploadWithRetries(photo, attempt + 1);
      });
    });
  }

  function sendAll() {
    if (busy) {
      return;
    }
    showError("");
    var queue = toSend();
    photos.forEach(function (photo) {
      photo.inBatch = queue.indexOf(photo) >= 0;
    });
    busy = "sending";
    refresh();
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
      afterSending(failures);
    });
  }

  function retryPhoto(photo) {
    if (busy) {
      return;
    }
    showError("");
    photos.forEach(function (other) {
      other.inBatch = other === photo;
    });
    busy = "sending";
    refresh();
    uploadWithRetries(photo, AUTO_RETRIES).then(
      function () {
        afterSending(0);
      },
      function () {
        afterSending(1);
        photo.retry.focus();
      }
    );
  }

  function afterSending(failures) {
    if (withStatus("uploaded").length) {
      busy = "waiting";
      refresh();
      announce("The clinic is checking your photos…");
      return waitForChecks(Date.now(), 0).then(function (timedOut) {
        busy = "";
        report(failures, timedOut);
      });
    }
    busy = "";
    report(failures, false);
  }

  // --- After sending: the clinic's checks --------------------------------------------

  function applyStatus(files) {
    var byId = {};
    files.forEach(function (file) {
      byId[file.id] = file;
    });
    photos.forEach(function (photo) {
      var file = photo.fileId && byId[photo.fileId];
      if (!file || photo.status !== "uploaded") {
        return;
      }
      if (file.state === "ready") {
        setState(photo, "received", "Sent: the clinic has received this photo.", 100);
      } else if (file.state === "rejected") {
        setState(photo, "rejected", "Not sent: this photo could not be used. " + file.reason, 0);
        photo.reason = file.reason;
      }
    });
  }

  function waitForChecks(started, errors) {
    return getJson(root.dataset.statusUrl).then(
      function (body) {
        applyStatus(body.files || []);
        if (!withStatus("uploaded").length) {
          return false;
        }
        if (Date.now() - started > POLL_LIMIT_MS) {
          return true;
        }
        return wait(POLL_MS).then(function () {
          return waitForChecks(started, 0);
        });
      },
      function (error) {
        if (error.permanent || Date.now() - started > POLL_LIMIT_MS) {
          return true;
        }
        // A lost connection while waiting: keep waiting, a little longer each time.
        return wait(POLL_MS * Math.pow(2, Math.min(errors + 1, 4))).then(function () {
          return waitForChecks(started, errors + 1);
        });
      }
    );
  }

  function report(failures, timedOut) {
    refresh();
    var rejected = withStatus("rejected");
    var received = withStatus("received");
    if (rejected.length) {
      var items = rejected.map(function (photo) {
        return { name: photo.name, reason: photo.reason };
      });
      var next = received.length
        ? " Choose another photo, or press Finish to send only the " + plural(received.length, "photo", "photos") + " received."
        : " Please choose another photo.";
      showError(
        (rejected.length === 1 ? "1 photo could not be used by the clinic and was not sent." : rejected.length + " photos could not be used by the clinic and were not sent.") + next,
        items
      );
      return;
    }
    if (failures) {
      showError(plural(failures, "photo was", "photos were") + " not sent. Check your signal, then press Try again on the photo.");
      return;
    }
    if (timedOut || (received.length && !toSend().length)) {
      finish();
    }
  }

  function finish() {
    busy = "finishing";
    refresh();
    announce("Telling the clinic…");
    postJson(root.dataset.finishUrl, {})
      .then(function () {
        window.location.assign(root.dataset.doneUrl);
      })
      .catch(function (error) {
        busy = "";
        refresh();
        showError("Your photos are with the clinic, but we could not tell them yet: " + error.message + " Press Finish to try again.");
      });
  }

  inputs.forEach(function (input) {
    input.addEventListener("change", function () {
      if (replacing && input.files && input.files.length) {
        removePhoto(replacing, true);
      }
      replacing = null;
      addFiles(input.files);
      input.value = "";
    });
  });
  sendButton.addEventListener("click", function () {
    if (toSend().length) {
      sendAll();
    } else if (withStatus("received").length) {
      finish();
    }
  });
  refresh();
})();
