/* The file viewer: any [data-viewer-item] button inside a [data-gallery] opens it.
   Full size, zoom (buttons, + and -, wheel with Ctrl, double-click), drag to pan when
   zoomed, previous and next (buttons, arrow keys, swipe), download, Escape closes.
   The gallery may be redrawn by htmx at any time: items are read when needed. */
(function () {
  "use strict";

  var dialog = document.getElementById("viewer");
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  var image = dialog.querySelector("[data-viewer-image]");
  var documentPanel = dialog.querySelector("[data-viewer-document]");
  var title = dialog.querySelector(".viewer-title");
  var meta = dialog.querySelector("[data-viewer-meta]");
  var note = dialog.querySelector("[data-viewer-note]");
  var count = dialog.querySelector("[data-viewer-count]");
  var download = dialog.querySelector("[data-viewer-download]");
  var compare = dialog.querySelector("[data-viewer-compare]");
  // The reset button's name starts with what it shows ("150% zoom: back to fit").
  var zoomLabel = dialog.querySelector("[data-viewer-zoom-value]");
  var zoomReset = dialog.querySelector("[data-viewer-zoom-reset]");
  var canvas = dialog.querySelector("[data-viewer-canvas]");
  var prev = dialog.querySelector("[data-viewer-prev]");
  var next = dialog.querySelector("[data-viewer-next]");
  var ZOOMS = [1, 1.5, 2, 3, 4];
  var state = { gallery: null, index: 0, zoom: 0, x: 0, y: 0, opener: null };

  function items() {
    if (!state.gallery || !document.body.contains(state.gallery)) {
      state.gallery = document.querySelector("[data-gallery]");
    }
    return state.gallery ? Array.prototype.slice.call(state.gallery.querySelectorAll("[data-viewer-item]")) : [];
  }

  function applyZoom() {
    var scale = ZOOMS[state.zoom];
    if (scale === 1) {
      state.x = 0;
      state.y = 0;
    }
    image.style.transform = "translate(" + state.x + "px, " + state.y + "px) scale(" + scale + ")";
    canvas.classList.toggle("is-zoomed", scale > 1);
    zoomLabel.textContent = Math.round(scale * 100) + "%";
  }

  function setZoom(level) {
    state.zoom = Math.max(0, Math.min(ZOOMS.length - 1, level));
    applyZoom();
  }

  function show(index) {
    var list = items();
    if (!list.length) {
      return;
    }
    state.index = (index + list.length) % list.length;
    var item = list[state.index];
    var kind = item.getAttribute("data-kind");
    title.textContent = item.getAttribute("data-title") || "File";
    meta.textContent = item.getAttribute("data-meta") || "";
    var text = item.getAttribute("data-note") || "";
    note.textContent = text;
    note.hidden = !text;
    download.href = item.getAttribute("data-download");
    if (compare) {
      // Photos of a patient's record can be compared with the others of the same place.
      var compareUrl = item.getAttribute("data-compare");
      compare.hidden = !compareUrl;
      if (compareUrl) compare.href = compareUrl;
    }
    count.textContent = list.length > 1 ? state.index + 1 + " of " + list.length : "";
    prev.hidden = next.hidden = list.length < 2;
    state.zoom = 0;
    if (kind === "image") {
      image.hidden = false;
      documentPanel.hidden = true;
      image.alt = title.textContent;
      dialog.classList.add("is-loading");
      image.src = item.getAttribute("data-src");
    } else {
      image.hidden = true;
      image.removeAttribute("src");
      documentPanel.hidden = false;
      dialog.classList.remove("is-loading");
    }
    applyZoom();
  }

  image.addEventListener("load", function () {
    dialog.classList.remove("is-loading");
  });
  image.addEventListener("error", function () {
    dialog.classList.remove("is-loading");
  });

  function open(item) {
    var gallery = item.closest("[data-gallery]");
    state.gallery = gallery;
    state.opener = item.closest("[data-testid]") ? item.closest("[data-testid]").getAttribute("data-testid") : null;
    dialog.showModal();
    show(items().indexOf(item));
  }

  document.addEventListener("click", function (event) {
    var item = event.target.closest && event.target.closest("[data-viewer-item]");
    if (item) {
      event.preventDefault();
      open(item);
    }
  });

  dialog.addEventListener("close", function () {
    image.removeAttribute("src");
    // Back to the tile that opened it, even when the gallery was redrawn meanwhile.
    var tile = state.opener && document.querySelector('[data-testid="' + state.opener + '"] [data-viewer-item]');
    if (tile) {
      tile.focus();
    }
  });

  dialog.querySelector("[data-viewer-close]").addEventListener("click", function () {
    dialog.close();
  });
  prev.addEventListener("click", function () {
    show(state.index - 1);
  });
  next.addEventListener("click", function () {
    show(state.index + 1);
  });
  dialog.querySelector("[data-viewer-zoom-in]").addEventListener("click", function () {
    setZoom(state.zoom + 1);
  });
  dialog.querySelector("[data-viewer-zoom-out]").addEventListener("click", function () {
    setZoom(state.zoom - 1);
  });
  zoomReset.addEventListener("click", function () {
    setZoom(0);
  });
  image.addEventListener("dblclick", function () {
    setZoom(state.zoom === 0 ? 2 : 0);
  });
  // A click on the dark backdrop (the dialog itself, outside its content) closes.
  dialog.addEventListener("click", function (event) {
    if (event.target === dialog || event.target === canvas) {
      if (ZOOMS[state.zoom] === 1) {
        dialog.close();
      }
    }
  });

  dialog.addEventListener("keydown", function (event) {
    if (event.target.closest && event.target.closest("input, textarea")) {
      return;
    }
    if (event.key === "ArrowLeft") {
      show(state.index - 1);
    } else if (event.key === "ArrowRight") {
      show(state.index + 1);
    } else if (event.key === "+" || event.key === "=") {
      setZoom(state.zoom + 1);
    } else if (event.key === "-") {
      setZoom(state.zoom - 1);
    } else if (event.key === "0") {
      setZoom(0);
    } else {
      return;
    }
    event.preventDefault();
  });

  canvas.addEventListener(
    "wheel",
    function (event) {
      if (!event.ctrlKey && ZOOMS[state.zoom] === 1) {
        return;
      }
      event.preventDefault();
      setZoom(state.zoom + (event.deltaY < 0 ? 1 : -1));
    },
    { passive: false }
  );

  // Drag to pan when zoomed; swipe to go to the previous or next file when not.
  var pointer = null;
  canvas.addEventListener("pointerdown", function (event) {
    pointer = { x: event.clientX, y: event.clientY, startX: state.x, startY: state.y };
    if (ZOOMS[state.zoom] > 1) {
      canvas.setPointerCapture(event.pointerId);
    }
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!pointer || ZOOMS[state.zoom] === 1) {
      return;
    }
    state.x = pointer.startX + (event.clientX - pointer.x);
    state.y = pointer.startY + (event.clientY - pointer.y);
    applyZoom();
  });
  canvas.addEventListener("pointerup", function (event) {
    if (pointer && ZOOMS[state.zoom] === 1) {
      var dx = event.clientX - pointer.x;
      if (Math.abs(dx) > 60 && Math.abs(dx) > Math.abs(event.clientY - pointer.y)) {
        show(state.index + (dx < 0 ? 1 : -1));
      }
    }
    pointer = null;
  });
})();
