/* The send-request form: picking a template fills in its message (left alone once
   staff have written their own words) and lists the photos the patient will be asked
   for, one step each. Without this script the server uses the template's message. */
(function () {
  "use strict";
  function ready() {
    var form = document.querySelector("[data-request-form]");
    var data = document.getElementById("request-templates");
    var select = form && form.querySelector("select[name=template]");
    if (!form || !data || !select) return;
    var templates = {};
    JSON.parse(data.textContent).forEach(function (t) { templates[t.id] = t; });
    var prompt = form.querySelector("textarea[name=prompt]");
    var slots = form.querySelector("[data-template-slots]");
    var filled = prompt.value.trim() === "" ? "" : null;

    function showSlots(template) {
      slots.textContent = "";
      if (!template || !template.slots.length) return;
      var heading = document.createElement("p");
      heading.className = "label";
      heading.textContent = "The patient is asked for these photos, one at a time:";
      var list = document.createElement("ol");
      list.className = "slot-summary";
      template.slots.forEach(function (text) {
        var item = document.createElement("li");
        item.textContent = text;
        list.appendChild(item);
      });
      slots.appendChild(heading);
      slots.appendChild(list);
    }

    function choose() {
      var template = templates[select.value];
      // Replace the message only while it is empty or still the last template's.
      if (template && (filled !== null && prompt.value === filled || prompt.value.trim() === "")) {
        prompt.value = template.message;
        filled = template.message;
      }
      showSlots(template);
    }
    prompt.addEventListener("input", function () { filled = null; });
    select.addEventListener("change", choose);
    if (select.value) showSlots(templates[select.value]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
