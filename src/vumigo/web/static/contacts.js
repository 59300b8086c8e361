// Contacts pages: a bad search shows its message where the results go, and "select all".
(function () {
  "use strict";

  // htmx leaves 4xx answers unswapped; a results area marked data-swap-errors takes them, so
  // the reason a query can't run appears where its results would have.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 400 && target && target.hasAttribute("data-swap-errors")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-select-all]") || !box.form) return;
    box.form.querySelectorAll("input[type=checkbox][name=contact]").forEach(function (item) {
      item.checked = box.checked;
    });
  });
})();
