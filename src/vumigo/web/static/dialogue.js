// The dialogue editor: keeps the "goes to" lists in step with state names as they are typed,
// and warns before leaving the page with changes that are not saved.
(function () {
  "use strict";
  var form = document.getElementById("dialogue-form");
  if (!form) return;
  var dirty = false;

  form.addEventListener("input", function (event) {
    dirty = true;
    var field = event.target;
    var found = /^state-(\d+)-name$/.exec(field.name || "");
    if (!found) return;
    var uuid = form.querySelector('input[name="state-' + found[1] + '-uuid"]');
    if (!uuid) return;
    var number = parseInt(found[1], 10) + 1;
    form.querySelectorAll('select[data-state-select] option[value="' + uuid.value + '"], select[name=start] option[value="' + uuid.value + '"]')
      .forEach(function (option) {
        var again = option.textContent.indexOf("(again)") >= 0 ? " (again)" : "";
        option.textContent = number + ". " + field.value + again;
      });
  });
  form.addEventListener("change", function () { dirty = true; });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
})();
