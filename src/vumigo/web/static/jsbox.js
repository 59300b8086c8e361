// The jsbox code editor: CodeMirror over the page's textarea when its scripts loaded, else the
// plain textarea with a Tab key that indents. The form posts the textarea either way.
(function () {
  "use strict";
  var area = document.querySelector("textarea[data-code-editor]");
  if (!area) return;
  var status = document.getElementById("editor-status");
  var errorLine = parseInt(area.dataset.errorLine || "0", 10);
  var errorColumn = Math.max(1, parseInt(area.dataset.errorColumn || "1", 10) || 1);
  var dirty = false;

  function position(line, ch) {
    if (status) status.textContent = "Line " + line + ", column " + ch;
  }

  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  if (area.form) area.form.addEventListener("submit", function () { dirty = false; });

  if (!window.CodeMirror) {
    // Fallback: a Tab inserts four spaces instead of leaving the field.
    area.addEventListener("keydown", function (event) {
      if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey) return;
      event.preventDefault();
      var start = area.selectionStart, end = area.selectionEnd;
      area.value = area.value.slice(0, start) + "    " + area.value.slice(end);
      area.selectionStart = area.selectionEnd = start + 4;
      dirty = true;
    });
    area.addEventListener("input", function () { dirty = true; });
    if (errorLine > 0) {
      var before = area.value.split("\n").slice(0, errorLine - 1).join("\n");
      var offset = (errorLine > 1 ? before.length + 1 : 0) + errorColumn - 1;
      area.focus();
      area.setSelectionRange(offset, offset);
    }
    return;
  }

  var editor = window.CodeMirror.fromTextArea(area, {
    mode: "javascript",
    lineNumbers: true,
    indentUnit: 4,
    tabSize: 4,
    matchBrackets: true,
    screenReaderLabel: "The app's JavaScript",
    extraKeys: { Tab: function (cm) { cm.execCommand(cm.somethingSelected() ? "indentMore" : "insertSoftTab"); } }
  });
  editor.getWrapperElement().classList.add("jsbox-editor");
  editor.on("change", function () { dirty = true; });
  editor.on("cursorActivity", function () {
    var cursor = editor.getCursor();
    position(cursor.line + 1, cursor.ch + 1);
  });
  if (errorLine > 0 && errorLine <= editor.lineCount()) {
    // Show where the syntax error is: the line marked, the cursor on it.
    editor.addLineClass(errorLine - 1, "wrap", "syntax-error-line");
    editor.setCursor({ line: errorLine - 1, ch: errorColumn - 1 });
    editor.scrollIntoView({ line: errorLine - 1, ch: 0 }, 80);
    editor.focus();
  }
})();

// The app config page's new key: its value is checked as JSON as it is typed only for the keys
// the app reads as JSON (config, translation.*); any other key holds plain text.
(function () {
  "use strict";
  var form = document.getElementById("new-key");
  if (!form) return;
  var key = form.querySelector("input[name=key]");
  var value = form.querySelector("textarea[name=value]");
  var status = form.querySelector(".json-status");
  function update() {
    var name = key.value.trim();
    if (name === "config" || name.indexOf("translation.") === 0) {
      value.setAttribute("data-json-editor", "");
      if (value.value.trim()) value.dispatchEvent(new Event("input", { bubbles: true }));
      else if (status) { status.textContent = "A JSON object"; status.className = "json-status"; }
    } else {
      value.removeAttribute("data-json-editor");
      value.removeAttribute("aria-invalid");
      if (status) { status.textContent = name ? "Plain text" : ""; status.className = "json-status"; }
    }
  }
  key.addEventListener("input", update);
  update();
})();
