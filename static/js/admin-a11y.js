/* Accessibility fixes for markup the Django admin makes itself (axe-core, WCAG 2.2):
   the date and time boxes of a date-time field get names, and the filter boxes' help
   icons (spans with aria-label and no role) become images. */
(function () {
  "use strict";

  function nameDateTimeBoxes() {
    document.querySelectorAll("p.datetime").forEach(function (box) {
      var row = box.closest(".form-row, .fieldBox, div");
      var label = row && row.querySelector("label");
      var field = label ? label.textContent.replace(/:\s*$/, "").trim() : "";
      var inputs = box.querySelectorAll("input");
      var parts = ["date", "time"];
      inputs.forEach(function (input, index) {
        if (!input.getAttribute("aria-label") && !document.querySelector("label[for='" + input.id + "']")) {
          input.setAttribute("aria-label", (field ? field + ": " : "") + (parts[index] || "value"));
        }
      });
    });
  }

  function fixHelpIcons() {
    document.querySelectorAll(".help-tooltip[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }

  // An inline table wider than a phone scrolls sideways: keyboard users must be able to
  // focus it to scroll it, and hear what it is.
  function focusableScrollers() {
    document.querySelectorAll(".inline-group, .module").forEach(function (group) {
      var style = window.getComputedStyle(group);
      var scrolls = /(auto|scroll)/.test(style.overflowX) && group.scrollWidth > group.clientWidth;
      if (scrolls && !group.hasAttribute("tabindex")) {
        var heading = group.querySelector("h2, caption");
        group.setAttribute("tabindex", "0");
        group.setAttribute("role", "region");
        group.setAttribute("aria-label", heading ? heading.textContent.trim() : "Table");
      }
    });
  }

  function run() {
    nameDateTimeBoxes();
    fixHelpIcons();
    focusableScrollers();
  }

  document.addEventListener("DOMContentLoaded", run);
  // SelectFilter2 draws its boxes on load; look again then.
  window.addEventListener("load", function () { window.setTimeout(run, 0); });
})();
