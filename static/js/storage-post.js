/* Posting a file to storage with an upload ticket, shared by the dashboard's uploader and
   the patient's photo page: the ticket's fields in their order, the file last (as S3's
   POST policy and the portal's own storage endpoint both require), with progress.
   A rejection carries `status` and `permanent` (a 4xx other than 408 and 429: trying
   again would not help), so each page can decide whether to retry. */
(function () {
  "use strict";

  function refused(message, status) {
    var error = new Error(message);
    error.status = status;
    error.permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
    return error;
  }

  // ``options``: ``signal`` (an AbortSignal: aborting rejects as a lost connection) and
  // ``stallMs`` (no progress for that long rejects as a lost connection too, since a
  // mobile connection can hang without failing).
  function postToStorage(ticket, file, onProgress, options) {
    options = options || {};
    return new Promise(function (resolve, reject) {
      var form = new FormData();
      ticket.fields.forEach(function (pair) {
        form.append(pair[0], pair[1]);
      });
      form.append("file", file);
      var xhr = new XMLHttpRequest();
      var stallTimer = null;
      function watch() {
        if (options.stallMs) {
          window.clearTimeout(stallTimer);
          stallTimer = window.setTimeout(function () {
            xhr.abort();
          }, options.stallMs);
        }
      }
      xhr.open("POST", ticket.url);
      xhr.upload.addEventListener("progress", function (event) {
        watch();
        if (event.lengthComputable) {
          onProgress(Math.round((event.loaded / event.total) * 100));
        }
      });
      xhr.addEventListener("loadend", function () {
        window.clearTimeout(stallTimer);
      });
      xhr.addEventListener("abort", function () {
        reject(new Error("The connection was lost."));
      });
      if (options.signal) {
        if (options.signal.aborted) {
          reject(new Error("The connection was lost."));
          return;
        }
        options.signal.addEventListener("abort", function () {
          xhr.abort();
        });
      }
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          resolve();
        } else {
          reject(refused("The storage refused the file (" + xhr.status + ").", xhr.status));
        }
      });
      xhr.addEventListener("error", function () {
        reject(new Error("The connection was lost."));
      });
      xhr.addEventListener("timeout", function () {
        reject(new Error("The connection timed out."));
      });
      watch();
      xhr.send(form);
    });
  }

  window.PortalStorage = { postToStorage: postToStorage };
})();
