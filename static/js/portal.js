/* The dashboard's own small behaviours. No inline scripts: the CSP forbids them. */
(function () {
  "use strict";

  // A form sent back with errors: its summary takes focus, so the next thing read or
  // tabbed to is the list of what to fix; each link moves focus to its field.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (field) {
        event.preventDefault();
        field.scrollIntoView({ block: "center" });
        field.focus();
      }
    });
  }

  // Forms with data-confirm ask before they submit (revoke, remove, turn off).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // No select submits its form when changed: a keyboard user choosing with the arrow
  // keys would send every option they pass (WCAG 3.2.2). Each such form has a button.

  document.addEventListener("click", function (event) {
    // Copy buttons: data-copy="#selector" copies that element's text.
    var copyButton = event.target.closest && event.target.closest("[data-copy]");
    if (copyButton) {
      var source = document.querySelector(copyButton.getAttribute("data-copy"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          var label = copyButton.textContent;
          copyButton.textContent = "Copied";
          window.setTimeout(function () { copyButton.textContent = label; }, 2000);
        });
      }
    }
    // Dismissable messages.
    var dismiss = event.target.closest && event.target.closest("[data-dismiss]");
    if (dismiss) {
      dismiss.parentElement.remove();
    }
    // Close the user menu when clicking elsewhere.
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
  });
})();
