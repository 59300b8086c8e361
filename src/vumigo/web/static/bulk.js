// Group message form: a live count of characters and SMS parts under the message box.
// GSM 03.38 text fits 160 characters in one SMS (153 a part when split); anything else goes as
// UCS-2, 70 (67 a part). Extension characters take two GSM places. The server counts the same
// way on the confirmation page, so this is only a preview.
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNO" +
    "PQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENDED = "\f^{}\\[~]|€";

  function count(text) {
    var septets = 0, gsm = true, units = 0;
    for (var i = 0; i < text.length; i++) {
      var ch = text.charAt(i);
      if (BASIC.indexOf(ch) >= 0) septets += 1;
      else if (EXTENDED.indexOf(ch) >= 0) septets += 2;
      else gsm = false;
    }
    // UCS-2 counts code points; a surrogate pair is one character taking two units.
    units = text.length;
    var size = gsm ? septets : units;
    var single = gsm ? 160 : 70, part = gsm ? 153 : 67;
    var parts = size === 0 ? 0 : size <= single ? 1 : Math.ceil(size / part);
    return { characters: Array.from(text).length, parts: parts, gsm: gsm };
  }

  function update(area) {
    var out = document.getElementById(area.dataset.smsCount);
    if (!out) return;
    var found = count(area.value);
    out.textContent = found.characters + (found.characters === 1 ? " character · " : " characters · ") +
      found.parts + " SMS" + (found.gsm || !found.characters ? "" : " (Unicode: 70 characters an SMS)");
  }

  function init(root) {
    (root || document).querySelectorAll("textarea[data-sms-count]").forEach(update);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-sms-count]")) update(event.target);
  });
  // Choosing a time picks "At a time" for you.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches(".bulk-form input[name=send_at]") && target.value) {
      var later = target.form.querySelector("input[name=when][value=later]");
      if (later) later.checked = true;
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
