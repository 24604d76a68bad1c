// The date-of-birth page: move focus to the error summary so screen readers hear it,
// and stop a second submit while the first is on its way.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
  var form = document.getElementById("dob-form");
  if (!form) {
    return;
  }
  form.addEventListener("submit", function (event) {
    if (form.dataset.submitted === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
    var button = form.querySelector("button[type=submit]");
    if (button && button.dataset.busyLabel) {
      button.setAttribute("aria-disabled", "true");
      button.textContent = button.dataset.busyLabel;
    }
  });
})();
