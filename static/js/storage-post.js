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

  function postToStorage(ticket, file, onProgress) {
    return new Promise(function (resolve, reject) {
      var form = new FormData();
      ticket.fields.forEach(function (pair) {
        form.append(pair[0], pair[1]);
      });
      form.append("file", file);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", ticket.url);
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          onProgress(Math.round((event.loaded / event.total) * 100));
        }
      });
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
      xhr.send(form);
    });
  }

  window.PortalStorage = { postToStorage: postToStorage };
})();
