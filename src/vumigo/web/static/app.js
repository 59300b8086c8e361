// Small enhancements; every page also works without them.
(function () {
  "use strict";

  // htmx leaves error responses unswapped; show their message where flash messages go.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("flashes");
    if (!box) return;
    var xhr = event.detail.xhr;
    var html = xhr && xhr.responseText && xhr.responseText.indexOf("<article") === 0
      ? xhr.responseText
      : '<article class="flash flash-error" role="alert">Something went wrong (' + (xhr ? xhr.status : "?") + ").</article>";
    box.innerHTML = html;
  });

  // Live JSON check for config editors, so a typo is seen before saving.
  function checkJson(area) {
    var status = area.parentElement.querySelector(".json-status");
    if (!status) return;
    var text = area.value.trim();
    if (!text) { status.textContent = "Empty: saved as {}"; status.className = "json-status good"; area.removeAttribute("aria-invalid"); return; }
    try {
      var value = JSON.parse(text);
      if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("must be a JSON object");
      status.textContent = "Valid JSON";
      status.className = "json-status good";
      area.setAttribute("aria-invalid", "false");
    } catch (err) {
      status.textContent = "Not valid JSON: " + err.message;
      status.className = "json-status bad";
      area.setAttribute("aria-invalid", "true");
    }
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-json-editor]")) checkJson(event.target);
  });
})();

// Confirmations and auto-submitting selects, without inline handlers (the CSP forbids those).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.matches && target.matches("select[data-autosubmit]") && target.form) target.form.submit();
});
