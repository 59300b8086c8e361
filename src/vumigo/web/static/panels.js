// Repeating rows in the panels' forms (messages, keywords, handlers, menu entries, choices):
// "Add" copies the blank row at the end with the next number in its field names
// (name-N-field), so the server reads every row the same way. Without JavaScript the one blank
// row is still there, and saving it adds it.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-add-row]") : null;
    if (!button) return;
    var prefix = button.dataset.addRow;
    var box = button.parentElement.querySelector('[data-rows="' + prefix + '"]') ||
      document.querySelector('[data-rows="' + prefix + '"]');
    if (!box) return;
    var blanks = box.querySelectorAll("[data-row-template]");
    var template = blanks[blanks.length - 1];
    if (!template) return;
    var pattern = new RegExp("^" + prefix + "-(\\d+)-");
    var highest = -1;
    box.querySelectorAll("[name]").forEach(function (field) {
      var found = pattern.exec(field.name);
      if (found) highest = Math.max(highest, parseInt(found[1], 10));
    });
    var copy = template.cloneNode(true);
    copy.querySelectorAll("[name]").forEach(function (field) {
      field.name = field.name.replace(pattern, prefix + "-" + (highest + 1) + "-");
      if (field.type === "checkbox" || field.type === "radio") field.checked = false;
      else if (field.tagName === "SELECT") field.selectedIndex = 0;
      else field.value = "";
    });
    box.appendChild(copy);
    var first = copy.querySelector("input, textarea, select");
    if (first) first.focus();
  });
})();
