/* Compare over time: every photo shares one zoom and pan, so the same spot of each is
   in view. Zoom with the buttons, the wheel, or + and − on a focused photo; move by
   dragging or with the arrow keys; 0 (or the zoom value) fits them again. The state is
   kept as a scale and an offset in fractions of the photo's box, the same for all. */
(function () {
  "use strict";
  var MIN = 1, MAX = 8, STEP = 1.25, NUDGE = 0.08;

  function ready() {
    var root = document.querySelector("[data-compare]");
    if (!root) return;
    var images = Array.prototype.slice.call(root.querySelectorAll("[data-compare-image]"));
    var viewports = Array.prototype.slice.call(root.querySelectorAll("[data-compare-viewport]"));
    var value = root.querySelector("[data-compare-zoom-value]");
    var state = { scale: 1, x: 0, y: 0 };

    function clamp() {
      state.scale = Math.min(MAX, Math.max(MIN, state.scale));
      var room = (state.scale - 1) / 2;  // how far the zoomed photo may move each way
      state.x = Math.min(room, Math.max(-room, state.x));
      state.y = Math.min(room, Math.max(-room, state.y));
    }

    function apply() {
      clamp();
      var transform = "translate(" + (state.x * 100).toFixed(3) + "%, " +
        (state.y * 100).toFixed(3) + "%) scale(" + state.scale.toFixed(4) + ")";
      images.forEach(function (image) {
        image.style.transform = transform;
        image.setAttribute("data-zoom", state.scale.toFixed(2));
      });
      viewports.forEach(function (viewport) {
        viewport.classList.toggle("is-zoomed", state.scale > 1);
      });
      if (value) value.textContent = Math.round(state.scale * 100) + "%";
    }

    function zoom(factor) {
      var before = state.scale;
      state.scale = Math.min(MAX, Math.max(MIN, state.scale * factor));
      // Keep the centre of the view where it was.
      var ratio = state.scale / before;
      state.x *= ratio;
      state.y *= ratio;
      apply();
    }

    function reset() { state = { scale: 1, x: 0, y: 0 }; apply(); }

    root.querySelector("[data-compare-zoom-in]").addEventListener("click", function () { zoom(STEP); });
    root.querySelector("[data-compare-zoom-out]").addEventListener("click", function () { zoom(1 / STEP); });
    root.querySelector("[data-compare-reset]").addEventListener("click", reset);

    viewports.forEach(function (viewport) {
      viewport.addEventListener("keydown", function (event) {
        var handled = true;
        switch (event.key) {
          case "+": case "=": zoom(STEP); break;
          case "-": case "_": zoom(1 / STEP); break;
          case "0": reset(); break;
          case "ArrowLeft": state.x += NUDGE * state.scale; apply(); break;
          case "ArrowRight": state.x -= NUDGE * state.scale; apply(); break;
          case "ArrowUp": state.y += NUDGE * state.scale; apply(); break;
          case "ArrowDown": state.y -= NUDGE * state.scale; apply(); break;
          default: handled = false;
        }
        if (handled) event.preventDefault();
      });
      viewport.addEventListener("wheel", function (event) {
        event.preventDefault();
        zoom(event.deltaY < 0 ? STEP : 1 / STEP);
      }, { passive: false });
      var drag = null;
      viewport.addEventListener("pointerdown", function (event) {
        if (state.scale <= 1) return;
        drag = { id: event.pointerId, x: event.clientX, y: event.clientY, sx: state.x, sy: state.y };
        viewport.setPointerCapture(event.pointerId);
      });
      viewport.addEventListener("pointermove", function (event) {
        if (!drag || event.pointerId !== drag.id) return;
        var box = viewport.getBoundingClientRect();
        state.x = drag.sx + (event.clientX - drag.x) / box.width;
        state.y = drag.sy + (event.clientY - drag.y) / box.height;
        apply();
      });
      function end(event) { if (drag && event.pointerId === drag.id) drag = null; }
      viewport.addEventListener("pointerup", end);
      viewport.addEventListener("pointercancel", end);
    });
    apply();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
