/* The dashboard's own small behaviours. No inline scripts: the CSP forbids them. */
(function () {
  "use strict";

  // Forms with data-confirm ask before they submit (revoke, remove, turn off).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Selects inside a form with data-autosubmit submit it when changed.
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-autosubmit]");
    if (form && event.target.tagName === "SELECT") {
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }
  });

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
