// Keeping the patient's chosen photos and notes on the phone (IndexedDB) until the
// clinic has them, so a closed tab, a crash or a phone that ran out of memory loses
// nothing: the page reopened through the link (after the date of birth again) finds
// them and sends what is left.
//
// One record per photo, keyed by the id the phone made for it (also sent to the clinic,
// which recognises a photo sent twice), under the request's key: {photoId, requestKey,
// order, name, note, blob, sizeOnPhone, queued, ticket, received, addedAt}. The photo's
// bytes go as soon as the clinic has confirmed it (a small record stays, so a reopened
// page can ask the clinic about it); the records of a request go when the patient
// reaches the confirmation, and any record goes after 30 days.
// Every failure (private browsing, a full disk, an old browser) is swallowed: the page
// then works as before, without keeping.
(function () {
  "use strict";

  var NAME = "clinic-photo-request";
  var STORE = "photos";
  var KEEP_DAYS = 30;
  var opening = null;

  function open() {
    if (opening) {
      return opening;
    }
    opening = new Promise(function (resolve) {
      if (!window.indexedDB) {
        resolve(null);
        return;
      }
      var request;
      try {
        request = window.indexedDB.open(NAME, 1);
      } catch (error) {
        resolve(null);
        return;
      }
      request.onupgradeneeded = function () {
        var store = request.result.createObjectStore(STORE, { keyPath: "photoId" });
        store.createIndex("requestKey", "requestKey", { unique: false });
      };
      request.onsuccess = function () {
        resolve(request.result);
      };
      request.onerror = function () {
        resolve(null);
      };
      request.onblocked = function () {
        resolve(null);
      };
    });
    return opening;
  }

  function run(mode, work) {
    return open().then(function (db) {
      if (!db) {
        return null;
      }
      return new Promise(function (resolve) {
        var result = null;
        var transaction;
        try {
          transaction = db.transaction(STORE, mode);
          result = work(transaction.objectStore(STORE));
        } catch (error) {
          resolve(null);
          return;
        }
        transaction.oncomplete = function () {
          resolve(result && "result" in result ? result.result : null);
        };
        transaction.onerror = transaction.onabort = function (event) {
          if (event && event.preventDefault) {
            event.preventDefault();
          }
          resolve(null);
        };
      });
    });
  }

  function put(record) {
    return run("readwrite", function (store) {
      return store.put(record);
    });
  }

  // Change some fields of a record, if it is still kept.
  function update(photoId, changes) {
    return run("readwrite", function (store) {
      var request = store.get(photoId);
      request.onsuccess = function () {
        if (request.result) {
          store.put(Object.assign(request.result, changes));
        }
      };
      return null;
    });
  }

  function remove(photoId) {
    return run("readwrite", function (store) {
      return store.delete(photoId);
    });
  }

  // The request's records, oldest first; records past their time are removed.
  function list(requestKey) {
    var found = [];
    var limit = Date.now() - KEEP_DAYS * 24 * 60 * 60 * 1000;
    return run("readwrite", function (store) {
      var cursor = store.openCursor();
      cursor.onsuccess = function () {
        var at = cursor.result;
        if (!at) {
          return;
        }
        var record = at.value;
        if (!record.addedAt || record.addedAt < limit) {
          at.delete();
        } else if (record.requestKey === requestKey) {
          found.push(record);
        }
        at.continue();
      };
      return null;
    }).then(function () {
      return found.sort(function (a, b) {
        return a.order - b.order;
      });
    });
  }

  function forget(requestKey) {
    return list(requestKey).then(function (records) {
      return Promise.all(
        records.map(function (record) {
          return remove(record.photoId);
        })
      );
    });
  }

  window.PhotoKeep = { put: put, update: update, remove: remove, list: list, forget: forget };
})();
