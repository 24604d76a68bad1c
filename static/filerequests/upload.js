// The patient's photo page: pick or take photos, add a note to each, then send them.
//
// Most patients are on a poor mobile signal, so the page is built for a bad day:
// * Before a photo is added, its first bytes are checked (filetype.js): a PDF or any type
//   the clinic refuses is turned away on the phone, in plain words. Each added photo is
//   checked for blur, darkness and glare (quality.js): a hint the patient may overrule.
// * A photo larger than the clinic needs is shrunk on the phone (shrink.js), unless the
//   clinic asked for full resolution.
// * Each photo gets an id made on the phone, sent with its ticket request and its
//   confirmation: the clinic keeps a photo sent twice once.
// * The chosen photos and their notes are kept on the phone (keep.js) until the clinic
//   has them; the page reopened through the link shows each as it stands and sends on
//   what is left.
// * Per photo: ask for an upload ticket, post the ticket's fields in order and the file
//   last to the ticket's URL (S3 or the portal itself), then confirm it with its note.
//   Tickets, uploads and confirmations of different photos overlap, so the slow round
//   trips of a mobile network are not paid three times over per photo.
// * A lost connection is waited out for as long as the page is open: the page watches for
//   the signal (the browser's online event, and a small request every few seconds) and
//   carries on by itself as soon as it is back; a busy clinic system is asked again with
//   growing pauses. Leaving the page while photos are on their way asks first.
// Then the page waits for the clinic's checks (the status endpoint) and tells the patient
// which photos were received and which could not be used, and why; only received photos
// are called sent. When every photo is in, "finish" announces the batch to the clinic.
(function () {
  "use strict";

  var root = document.getElementById("uploader");
  if (!root) {
    return;
  }
  var csrfToken = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  var maxFiles = parseInt(root.dataset.maxFiles || "10", 10);
  var requestKey = root.dataset.requestKey || "";
  var fullResolution = root.dataset.fullResolution === "true";
  var POLL_MS = 1500;
  var POLL_LIMIT_MS = 3 * 60 * 1000;
  var PROBE_EVERY_MS = 2500;
  var LONGEST_PAUSE_MS = 30 * 1000;
  var UPLOADS_AT_ONCE = 1;
  var STALL_MS = 45 * 1000;
  var list = document.getElementById("photo-list");
  var template = document.getElementById("photo-template");
  var sendButton = document.getElementById("send-button");
  var sendBar = document.getElementById("send-bar");
  var sendCount = document.getElementById("send-count");
  var sendProgress = document.getElementById("send-progress");
  var signal = document.getElementById("signal-status");
  var restoredNote = document.getElementById("restored-note");
  var emptyState = document.getElementById("empty-state");
  var liveStatus = document.getElementById("live-status");
  var pageError = document.getElementById("page-error");
  var cameraInput = document.getElementById("camera-input");
  var libraryInput = document.getElementById("library-input");
  var inputs = [cameraInput, libraryInput];
  var reducedMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var keep = window.PhotoKeep || {
    put: noop, update: noop, remove: noop, forget: noop,
    list: function () { return Promise.resolve([]); },
  };
  var photos = [];
  var sequence = 0;
  var busy = ""; // "", "checking-files", "restoring", "sending", "waiting" or "finishing"
  var replacing = null; // the photo "Take it again" or "Choose another photo" will replace

  var NO_SIGNAL = "No signal at the moment.";
  var WAITING_WORDS = "Waiting for signal. This photo will send by itself when the signal is back.";

  function noop() {
    return Promise.resolve(null);
  }

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

  function newPhotoId() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
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
      return photo.status === "ready" || photo.status === "failed" || photo.status === "preparing";
    });
  }

  function withStatus(status) {
    return photos.filter(function (photo) {
      return photo.status === status;
    });
  }

  function onTheirWay() {
    return photos.some(function (photo) {
      return photo.status === "queued" || photo.status === "uploading" || photo.status === "paused";
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
    sendBar.classList.toggle("sendbar--fixed", photos.length > 0);
    document.body.classList.toggle("has-sendbar", photos.length > 0);
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
    } else if (busy === "restoring") {
      label = "Send photos";
      summary = "Checking which photos the clinic has…";
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
    if (window.PhotoSlots) {
      window.PhotoSlots.update(photos);
    }
    var room = photos.filter(function (photo) {
      return photo.status !== "rejected";
    }).length;
    inputs.forEach(function (input) {
      input.disabled = busy === "sending" || busy === "waiting" || busy === "finishing" || busy === "restoring" || room >= maxFiles;
    });
  }

  function batchSize() {
    return photos.filter(function (photo) {
      return photo.inBatch;
    }).length;
  }

  // --- One photo's tile ------------------------------------------------------------

  var STATE_CLASSES = ["failed", "done", "rejected", "uploading", "waiting", "paused"];

  function setState(photo, status, text, percent) {
    photo.status = status;
    var look = {
      received: "done",
      rejected: "rejected",
      failed: "failed",
      queued: "uploading",
      uploading: "uploading",
      uploaded: "waiting",
      paused: "paused",
    }[status];
    STATE_CLASSES.forEach(function (name) {
      photo.element.classList.toggle("photo--" + name, look === name);
    });
    if (photo.stateText.textContent !== text) {
      photo.stateText.textContent = text;
    }
    if (typeof percent === "number") {
      photo.percent = percent;
      photo.progress.value = percent;
      photo.progress.setAttribute("aria-valuetext", percent + "%");
    }
    photo.retry.hidden = status !== "failed";
    photo.another.hidden = status !== "rejected";
    photo.remove.hidden = !(status === "ready" || status === "failed" || status === "preparing" || status === "rejected");
    photo.note.readOnly = !(status === "ready" || status === "failed" || status === "preparing");
    if (status !== "ready" && status !== "preparing") {
      photo.hint.hidden = true;
    }
    refresh();
  }

  function showQualityHint(photo, assessment) {
    var open = photo.status === "ready" || photo.status === "preparing";
    if (!assessment || !assessment.hint || !open || photo.kept) {
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

  function showSize(photo) {
    var line = photo.element.querySelector(".photo__size");
    if (photo.blob && photo.shrunk && photo.sizeOnPhone) {
      line.textContent = humanSize(photo.blob.size) + " to send (made smaller from " + humanSize(photo.sizeOnPhone) + ")";
    } else if (photo.blob) {
      line.textContent = humanSize(photo.blob.size);
    } else {
      line.textContent = "";
    }
  }

  // A tile for a photo just chosen (``file``) or one kept on the phone (``record``).
  function addTile(file, record, slotId) {
    sequence += 1;
    var element = template.content.firstElementChild.cloneNode(true);
    var noteId = "note-" + sequence;
    var nameId = "name-" + sequence;
    var hintId = "hint-" + sequence;
    var photo = {
      key: sequence,
      id: record ? record.photoId : newPhotoId(),
      slotId: record ? record.slotId || "" : slotId || "", // the template's step, if any
      order: record ? record.order : Date.now() * 100 + (sequence % 100),
      file: file,
      blob: record ? record.blob : null,
      sendName: record ? record.sendName : null,
      shrunk: record ? Boolean(record.shrunk) : false,
      sizeOnPhone: record ? record.sizeOnPhone : file.size,
      ticket: record ? record.ticket : null,
      mayHaveArrived: record ? Boolean(record.ticket) : false,
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
      previewUrl: null,
      position: function () {
        return photos.indexOf(photo) + 1;
      },
    };
    var preview = element.querySelector(".photo__preview");
    photo.preview = preview;
    preview.addEventListener("error", function () {
      // A file this browser cannot draw (HEIC outside Safari, or damaged): a plain tile.
      preview.alt = "";
      preview.removeAttribute("src");
      preview.classList.add("photo__preview--none");
    });
    var shown = file || photo.blob;
    if (shown) {
      photo.previewUrl = URL.createObjectURL(shown);
      preview.src = photo.previewUrl;
    } else {
      preview.classList.add("photo__preview--none");
    }
    preview.alt = "Preview of photo " + (photos.length + 1);
    var name = element.querySelector(".photo__name");
    name.textContent = (record ? record.name : file.name) || "Photo " + (photos.length + 1);
    name.id = nameId;
    photo.name = name.textContent;
    element.querySelector(".photo__note-label").setAttribute("for", noteId);
    element.setAttribute("aria-labelledby", nameId);
    photo.note.id = noteId;
    photo.note.setAttribute("aria-describedby", nameId);
    if (record && record.note) {
      photo.note.value = record.note;
    }
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
    var saving = null;
    photo.note.addEventListener("input", function () {
      window.clearTimeout(saving);
      saving = window.setTimeout(function () {
        keep.update(photo.id, { note: photo.note.value });
      }, 300);
    });
    photos.push(photo);
    list.appendChild(element);
    if (file) {
      photo.prepared = prepare(photo);
      if (window.PhotoQuality) {
        window.PhotoQuality.assess(file).then(function (assessment) {
          showQualityHint(photo, assessment);
        });
      }
    } else {
      photo.prepared = Promise.resolve();
      showSize(photo);
    }
    return photo;
  }

  // Shrink one photo after another (a phone has little memory for 12 MP pictures),
  // then keep it on the phone.
  var shrinking = Promise.resolve();

  function prepare(photo) {
    setState(photo, "preparing", "Getting the photo ready…", 0);
    var file = photo.file;
    var step = fullResolution || !window.PhotoShrink
      ? Promise.resolve({ blob: file, name: file.name, shrunk: false })
      : (shrinking = shrinking.then(function () {
          return window.PhotoShrink.shrink(file);
        }));
    return step.then(function (result) {
      photo.blob = result.blob;
      photo.sendName = result.name || file.name || "photo.jpg";
      photo.shrunk = result.shrunk;
      showSize(photo);
      if (photo.status === "preparing") {
        setState(photo, "ready", "Ready to send", 0);
      }
      return keep.put(record(photo));
    });
  }

  function record(photo) {
    return {
      photoId: photo.id,
      slotId: photo.slotId,
      requestKey: requestKey,
      order: photo.order,
      name: photo.name,
      sendName: photo.sendName,
      note: photo.note.value,
      blob: photo.blob,
      shrunk: photo.shrunk,
      sizeOnPhone: photo.sizeOnPhone,
      queued: Boolean(photo.queued),
      ticket: photo.ticket || null,
      received: false,
      addedAt: Date.now(),
    };
  }

  function judge(file) {
    if (!window.PhotoFileType) {
      return Promise.resolve({ accepted: true });
    }
    return window.PhotoFileType.check(file).catch(function () {
      return { accepted: true }; // unreadable here: the server decides
    });
  }

  function addFiles(fileList, slotId) {
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
        added.push(addTile(file, null, added.length ? "" : slotId));
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

  function dropTile(photo) {
    var index = photos.indexOf(photo);
    if (index < 0) {
      return -1;
    }
    if (photo.previewUrl) {
      URL.revokeObjectURL(photo.previewUrl);
    }
    photos.splice(index, 1);
    photo.element.remove();
    return index;
  }

  function removePhoto(photo, quietly) {
    if (photo.status === "queued" || photo.status === "uploading" || photo.status === "paused" || photo.status === "uploaded" || photo.status === "received") {
      return;
    }
    var index = dropTile(photo);
    if (index < 0) {
      return;
    }
    keep.remove(photo.id);
    refresh();
    if (quietly) {
      return;
    }
    announce("Photo removed");
    var next = photos[index] || photos[index - 1];
    (next ? next.note : libraryInput).focus();
  }

  // --- The connection: lost, watched for, back ----------------------------------------

  var connection = {
    lost: false,
    waiters: [],
    probeTimer: null,
    probing: false,
    controllers: [],

    markLost: function () {
      if (!connection.lost) {
        connection.lost = true;
        showSignal("lost");
        announce(NO_SIGNAL + " Your photos are kept on this phone and will send by themselves when the signal is back.");
      }
      connection.probeSoon(PROBE_EVERY_MS);
    },

    // Resolves true once a lost connection is back, false at once if it was never lost.
    back: function () {
      if (!connection.lost) {
        return Promise.resolve(false);
      }
      return new Promise(function (resolve) {
        connection.waiters.push(resolve);
      });
    },

    probeSoon: function (delay) {
      window.clearTimeout(connection.probeTimer);
      connection.probeTimer = window.setTimeout(connection.probe, delay);
    },

    probe: function () {
      if (!connection.lost || connection.probing) {
        return;
      }
      connection.probing = true;
      var controller = window.AbortController ? new AbortController() : null;
      var timer = window.setTimeout(function () {
        if (controller) {
          controller.abort();
        }
      }, 10000);
      fetch(root.dataset.probeUrl + "?t=" + Date.now(), {
        cache: "no-store",
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined,
      }).then(
        function () {
          window.clearTimeout(timer);
          connection.probing = false;
          connection.restored();
        },
        function () {
          window.clearTimeout(timer);
          connection.probing = false;
          connection.probeSoon(PROBE_EVERY_MS);
        }
      );
    },

    restored: function () {
      if (!connection.lost) {
        return;
      }
      connection.lost = false;
      window.clearTimeout(connection.probeTimer);
      showSignal("back");
      announce("The signal is back. Sending your photos again.");
      var waiters = connection.waiters;
      connection.waiters = [];
      waiters.forEach(function (resolve) {
        resolve(true);
      });
    },

    // Uploads in flight when the phone says it is offline will not finish: stop them
    // now, so they start again as soon as the signal returns.
    abortAll: function () {
      connection.controllers.slice().forEach(function (controller) {
        controller.abort();
      });
    },
  };

  var signalTimer = null;

  function showSignal(state) {
    window.clearTimeout(signalTimer);
    signal.classList.toggle("signal--lost", state === "lost");
    signal.classList.toggle("signal--back", state === "back");
    if (state === "lost") {
      signal.textContent = NO_SIGNAL + " Your photos are kept on this phone and will send by themselves when the signal is back: you do not need to press anything.";
      signal.hidden = false;
    } else if (state === "back") {
      signal.textContent = "The signal is back. Sending your photos again…";
      signal.hidden = false;
      signalTimer = window.setTimeout(function () {
        showSignal("");
      }, 8000);
    } else {
      signal.hidden = true;
      signal.textContent = "";
    }
  }

  window.addEventListener("online", function () {
    connection.probeSoon(0);
  });
  window.addEventListener("offline", function () {
    if (onTheirWay()) {
      connection.markLost();
      connection.abortAll();
    }
  });

  // --- Talking to the portal ---------------------------------------------------------

  function networkError() {
    var error = new Error(NO_SIGNAL);
    error.network = true;
    return error;
  }

  function request(url, options) {
    var controller = window.AbortController ? new AbortController() : null;
    if (controller) {
      options.signal = controller.signal;
      connection.controllers.push(controller);
    }
    var timer = window.setTimeout(function () {
      if (controller) {
        controller.abort();
      }
    }, 60000);
    function done() {
      window.clearTimeout(timer);
      var at = connection.controllers.indexOf(controller);
      if (at >= 0) {
        connection.controllers.splice(at, 1);
      }
    }
    return fetch(url, options).then(
      function (response) {
        done();
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
        done();
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

  var postToStorage = window.PortalStorage.postToStorage; // static/js/storage-post.js

  function storageError(error) {
    if (error.permanent) {
      var refused = new Error("The clinic's storage refused this photo. Please choose it again, or call the clinic.");
      refused.permanent = true;
      refused.storage = true;
      return refused;
    }
    return error.status ? Object.assign(new Error("The clinic's system did not answer."), { status: error.status }) : networkError();
  }

  // One upload at a time (a slow connection carries one file better than several that
  // share it, and the first photo arrives as soon as it can); the tickets before and the
  // confirmations after overlap with it.
  var slots = { free: UPLOADS_AT_ONCE, queue: [] };

  function withUploadSlot(work) {
    return new Promise(function (resolve) {
      if (slots.free > 0) {
        slots.free -= 1;
        resolve();
      } else {
        slots.queue.push(resolve);
      }
    }).then(function () {
      function release() {
        var next = slots.queue.shift();
        if (next) {
          next();
        } else {
          slots.free += 1;
        }
      }
      return work().then(
        function (value) {
          release();
          return value;
        },
        function (error) {
          release();
          throw error;
        }
      );
    });
  }

  function serverState(photo, state, words) {
    if (state === "ready") {
      setState(photo, "received", "Sent: the clinic has received this photo.", 100);
    } else if (state === "rejected") {
      setState(photo, "rejected", "Not sent: this photo could not be used. " + (words || ""), 0);
    } else {
      // Not "sent" yet: the clinic's checks decide whether it can be used.
      setState(photo, "uploaded", "Arrived. The clinic is checking it…", 100);
    }
  }

  // The clinic has the photo: its bytes leave the phone's keeping (a small record stays,
  // so a reopened page can ask the clinic about it).
  function held(photo, answer) {
    photo.fileId = answer.fileId;
    photo.ticket = null;
    keep.update(photo.id, { blob: null, ticket: null, received: true, note: photo.note.value });
    serverState(photo, answer.state === "pending" || answer.state === "processing" ? "processing" : answer.state);
  }

  function askForTicket(photo) {
    return postJson(root.dataset.ticketUrl, {
      name: photo.sendName || photo.name || "photo.jpg",
      size: photo.blob.size,
      type: photo.blob.type || "",
      photoId: photo.id,
    }).then(function (answer) {
      if (!answer.alreadyReceived) {
        photo.ticket = answer;
        photo.mayHaveArrived = false;
        keep.update(photo.id, { ticket: answer });
      }
      return answer;
    });
  }

  // ``arrivedMaybe``: asking whether an upload whose answer was lost arrived (a 409
  // says it did not), so the photo's progress is left as it was.
  function confirmPhoto(photo, arrivedMaybe) {
    if (arrivedMaybe) {
      setState(photo, "uploading", "Checking whether this photo arrived…", photo.percent || 0);
    } else {
      setState(photo, "uploading", "Almost done…", 99);
    }
    return postJson(root.dataset.confirmUrl, {
      ticketId: photo.ticket.ticketId,
      photoId: photo.id,
      slotId: photo.slotId || "",
      description: photo.note.value.trim(),
      sizeOnPhone: photo.sizeOnPhone || null,
    }).then(function (answer) {
      held(photo, answer);
    });
  }

  function upload(photo) {
    var ticket = photo.ticket;
    return withUploadSlot(function () {
      setState(photo, "uploading", "Sending… 0%", 0);
      var controller = window.AbortController ? new AbortController() : null;
      if (controller) {
        connection.controllers.push(controller);
      }
      photo.mayHaveArrived = true;
      var file = new File([photo.blob], photo.sendName || "photo.jpg", { type: photo.blob.type || "image/jpeg" });
      return postToStorage(
        ticket,
        file,
        function (percent) {
          setState(photo, "uploading", "Sending… " + percent + "%", Math.min(percent, 99));
        },
        { signal: controller ? controller.signal : null, stallMs: STALL_MS }
      ).then(
        function () {
          connection.controllers.splice(connection.controllers.indexOf(controller), 1);
        },
        function (error) {
          connection.controllers.splice(connection.controllers.indexOf(controller), 1);
          if (error.permanent && ticket === photo.ticket) {
            // Most likely the ticket (used or lapsed), not the photo: once with a new one.
            photo.ticket = null;
            photo.mayHaveArrived = false;
            if (!photo.freshTicketTried) {
              photo.freshTicketTried = true;
              var again = new Error("again");
              again.again = true;
              throw again;
            }
          }
          throw storageError(error);
        }
      );
    });
  }

  // One attempt: a ticket (unless one is in hand), the upload, the confirmation. An
  // upload whose answer was lost may have arrived: its confirmation is tried first.
  function sendOnce(photo) {
    setState(photo, "uploading", photo.percent ? "Sending again…" : "Preparing…", photo.percent || 0);
    var ticketStep = photo.ticket ? Promise.resolve(photo.ticket) : askForTicket(photo);
    return ticketStep.then(function (answer) {
      if (answer.alreadyReceived) {
        held(photo, answer);
        return null;
      }
      var arrived = photo.mayHaveArrived
        ? confirmPhoto(photo, true).then(
            function () {
              return true;
            },
            function (error) {
              if (error.status === 409) {
                return false; // nothing arrived: send it
              }
              throw error;
            }
          )
        : Promise.resolve(false);
      return arrived.then(function (done) {
        if (done) {
          return null;
        }
        return upload(photo).then(function () {
          return confirmPhoto(photo);
        });
      });
    });
  }

  function pause(attempt) {
    var base = Math.min(LONGEST_PAUSE_MS, 1000 * Math.pow(2, Math.max(0, attempt - 1)));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  function wait(ms) {
    return new Promise(function (resolve) {
      window.setTimeout(resolve, ms);
    });
  }

  // Tries until the photo is in, or refused for a reason trying again cannot mend.
  function sendWithRetries(photo, attempt) {
    return sendOnce(photo).catch(function (error) {
      if (error.again) {
        return sendWithRetries(photo, attempt);
      }
      if (error.permanent) {
        setState(photo, "failed", "Not sent. " + error.message, 0);
        throw error;
      }
      if (error.network) {
        setState(photo, "paused", WAITING_WORDS, photo.percent);
        connection.markLost();
        return connection
          .back()
          .then(function (wasLost) {
            // Back after being lost: straight on. Failing while the signal is there (a
            // flaky network): a growing pause.
            return wasLost ? null : wait(pause(attempt + 1));
          })
          .then(function () {
            return sendWithRetries(photo, attempt + 1);
          });
      }
      var ms = pause(attempt + 1);
      var seconds = Math.max(1, Math.round(ms / 1000));
      setState(photo, "paused", error.message + " Trying again in " + plural(seconds, "second", "seconds") + "…", photo.percent);
      return wait(ms).then(function () {
        return sendWithRetries(photo, attempt + 1);
      });
    });
  }

  function startSending(queue) {
    showError("");
    photos.forEach(function (photo) {
      photo.inBatch = queue.indexOf(photo) >= 0 || photo.inBatch && photo.status !== "ready";
    });
    queue.forEach(function (photo) {
      photo.queued = true;
      keep.update(photo.id, { queued: true, note: photo.note.value });
      setState(photo, "queued", "Waiting to send…", photo.percent || 0);
    });
    busy = "sending";
    refresh();
    announce("Sending " + plural(queue.length, "photo", "photos") + ".");
    var failures = 0;
    return Promise.all(
      queue.map(function (photo) {
        return photo.prepared
          .then(function () {
            return sendWithRetries(photo, 0);
          })
          .catch(function () {
            failures += 1;
          });
      })
    ).then(function () {
      afterSending(failures);
    });
  }

  function sendAll() {
    if (busy) {
      return;
    }
    startSending(toSend());
  }

  function retryPhoto(photo) {
    if (busy) {
      return;
    }
    photo.freshTicketTried = false;
    startSending([photo]).then(function () {
      if (photo.status === "failed") {
        photo.retry.focus();
      }
    });
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
      if (file.state === "ready" || file.state === "rejected") {
        serverState(photo, file.state, file.reason);
        photo.reason = file.reason;
      }
    });
  }

  function photoIds() {
    return photos
      .filter(function (photo) {
        return photo.fileId;
      })
      .map(function (photo) {
        return photo.id;
      });
  }

  // The clinic's word on this phone's photos, asked by the ids the phone made for them.
  function waitForChecks(started, errors) {
    return postJson(root.dataset.knownUrl, { photoIds: photoIds() }).then(
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
        if (error.network) {
          connection.markLost();
          return connection.back().then(function () {
            return waitForChecks(started, errors + 1);
          });
        }
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
        ? " Press Choose another photo, or press Finish to send only the " + plural(received.length, "photo", "photos") + " received."
        : " Press Choose another photo on it.";
      showError(
        (rejected.length === 1 ? "1 photo could not be used by the clinic and was not sent." : rejected.length + " photos could not be used by the clinic and were not sent.") + next,
        items
      );
      return;
    }
    if (failures) {
      showError(plural(failures, "photo was", "photos were") + " not sent. The reason is on the photo. Press Try again on it, or call the clinic.");
      return;
    }
    if (toSend().length) {
      return; // photos chosen while the others were sending wait for Send
    }
    if (timedOut || received.length) {
      finish();
    }
  }

  function finish() {
    busy = "finishing";
    refresh();
    announce("Telling the clinic…");
    postJson(root.dataset.finishUrl, { photoIds: photoIds() })
      .then(function () {
        return keep.forget(requestKey);
      })
      .then(function () {
        busy = "";
        window.location.assign(root.dataset.doneUrl);
      })
      .catch(function (error) {
        busy = "";
        refresh();
        showError("Your photos are with the clinic, but we could not tell them yet: " + error.message + " Press Finish to try again.");
      });
  }

  // --- A page reopened: the photos kept on the phone ----------------------------------

  function restore() {
    return keep.list(requestKey).then(function (records) {
      if (!records.length) {
        return;
      }
      busy = "restoring";
      var restored = records.map(function (kept) {
        var photo = addTile(null, kept);
        photo.queued = kept.queued;
        setState(photo, "uploaded", "Checking with the clinic…", kept.received ? 100 : 0);
        return photo;
      });
      refresh();
      return askWhatTheClinicHolds(restored).then(function () {
        busy = "";
        var arrived = restored.filter(function (photo) {
          return photo.status === "received" || photo.status === "uploaded" || photo.status === "rejected";
        });
        var left = restored.filter(function (photo) {
          return photo.status === "ready";
        });
        var queued = left.filter(function (photo) {
          return photo.queued;
        });
        var words = "We kept the " + plural(restored.length, "photo", "photos") + " you chose before on this phone. ";
        if (arrived.length) {
          words += plural(arrived.length, "photo has", "photos have") + " reached the clinic. ";
        }
        if (queued.length) {
          words += plural(queued.length, "photo is", "photos are") + " being sent now.";
        } else if (left.length) {
          words += "Press " + (left.length === 1 ? "Send 1 photo" : "Send " + left.length + " photos") + " to send the rest.";
        }
        restoredNote.textContent = words;
        restoredNote.hidden = false;
        reveal(restoredNote);
        announce(words);
        refresh();
        if (queued.length) {
          startSending(queued);
        } else if (withStatus("uploaded").length) {
          afterSending(0);
        }
      });
    });
  }

  function askWhatTheClinicHolds(restored) {
    return postJson(root.dataset.knownUrl, {
      photoIds: restored.map(function (photo) {
        return photo.id;
      }),
    }).then(
      function (body) {
        var byPhotoId = {};
        (body.files || []).forEach(function (file) {
          byPhotoId[file.photoId] = file;
        });
        restored.slice().forEach(function (photo) {
          var file = byPhotoId[photo.id];
          if (file) {
            photo.fileId = file.id;
            photo.reason = file.reason;
            keep.update(photo.id, { blob: null, ticket: null, received: true });
            if (!photo.blob && file.thumbnailUrl) {
              photo.preview.classList.remove("photo__preview--none");
              photo.preview.src = file.thumbnailUrl;
            }
            serverState(photo, file.state, file.reason);
          } else if (photo.blob) {
            setState(photo, "ready", "Ready to send", 0);
          } else {
            // Kept as received, yet not the clinic's: nothing left to send from here.
            dropTile(photo);
            restored.splice(restored.indexOf(photo), 1);
            keep.remove(photo.id);
          }
        });
      },
      function (error) {
        if (error.network) {
          connection.markLost();
          return connection.back().then(function () {
            return askWhatTheClinicHolds(restored);
          });
        }
        // The clinic's answer is not to be had (the page has ended): send what is kept;
        // the clinic recognises a photo it holds already.
        restored.forEach(function (photo) {
          if (photo.blob) {
            setState(photo, "ready", "Ready to send", 0);
          }
        });
        showError(error.message);
      }
    );
  }

  inputs.forEach(function (input) {
    input.addEventListener("change", function () {
      // The step of the template the photo is for: the replaced photo's, or the card's.
      var slotId = replacing ? replacing.slotId : window.PhotoSlots ? window.PhotoSlots.take() : "";
      if (replacing && input.files && input.files.length) {
        removePhoto(replacing, true);
      }
      replacing = null;
      addFiles(input.files, slotId);
      input.value = "";
    });
  });
  sendButton.addEventListener("click", function () {
    if (toSend().length) {
      if (window.PhotoSlots && !window.PhotoSlots.readyToSend(photos)) {
        return; // a step without a photo is said first; the patient may send anyway
      }
      sendAll();
    } else if (withStatus("received").length) {
      finish();
    }
  });
  // Leaving while photos are on their way: the browser asks first. (They are kept on
  // the phone either way, and sent on when the link is opened again.)
  window.addEventListener("beforeunload", function (event) {
    if (onTheirWay() || busy === "sending") {
      var words = "Your photos are still being sent. If you leave, they will be sent when you open the link again.";
      event.preventDefault();
      event.returnValue = words;
      return words;
    }
    return undefined;
  });
  // The room the page keeps below its end for the fixed send bar: its height, which grows
  // when a line about the signal shows.
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      document.documentElement.style.setProperty("--sendbar-room", sendBar.offsetHeight + "px");
    }).observe(sendBar);
  }
  refresh();
  restore();
})();
