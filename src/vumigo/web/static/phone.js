// The developer phone: sends as a handset through /phone/<pool>/<tag>/send and shows what the
// platform sends back, including later pushes (long-polled from .../outbound).
(function () {
  "use strict";
  var handset = document.getElementById("handset");
  if (!handset) return;
  var pool = handset.dataset.pool, tag = handset.dataset.tag;
  var base = "/phone/" + encodeURIComponent(pool) + "/" + encodeURIComponent(tag);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var screen = document.getElementById("phone-screen");
  var status = document.getElementById("phone-status");
  var input = document.getElementById("phone-input");
  var number = document.getElementById("phone-number");
  var startBtn = document.getElementById("ussd-start");
  var endBtn = document.getElementById("ussd-end");
  var cursor = handset.dataset.cursor || "0";
  var seen = {};
  var inSession = false;

  function mode() { return handset.querySelector('input[name="mode"]:checked').value; }

  function bubble(text, who) {
    var div = document.createElement("div");
    div.className = "bubble " + who;
    div.textContent = text;
    screen.appendChild(div);
    screen.scrollTop = screen.scrollHeight;
  }

  function show(msg) {
    if (seen[msg.message_id]) return;
    seen[msg.message_id] = true;
    bubble(msg.content === null || msg.content === undefined ? "(no content)" : msg.content, "them");
    if (mode() === "ussd" && msg.session_event === "close") setSession(false, "Session ended by the app");
  }

  function setSession(on, note) {
    inSession = on;
    startBtn.disabled = on;
    endBtn.disabled = !on;
    input.disabled = mode() === "ussd" && !on;
    status.textContent = note || (on ? "In a USSD session with " + tag : "Dial " + tag + " to start");
    if (note) bubble(note, "system");
  }

  function setMode() {
    var ussd = mode() === "ussd";
    handset.querySelector(".ussd-only").hidden = !ussd;
    if (ussd) setSession(false); else { input.disabled = false; status.textContent = "Texting " + tag; }
  }

  function send(content, sessionEvent) {
    var body = {
      from_addr: number.value.trim() || "+27820000001",
      content: content,
      session_event: sessionEvent,
      transport_type: mode(),
      wait: 3
    };
    status.textContent = "Sending…";
    return fetch(base + "/send", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) throw new Error("the platform answered " + response.status);
      return response.json();
    }).then(function (data) {
      data.replies.forEach(show);
      if (mode() === "sms") status.textContent = data.replies.length ? "Texting " + tag : "Sent; no reply yet";
      else if (inSession) status.textContent = "In a USSD session with " + tag;
    }).catch(function (err) {
      status.textContent = "Not sent: " + err.message;
    });
  }

  document.getElementById("phone-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    input.value = "";
    bubble(text, "me");
    send(text, mode() === "ussd" ? "resume" : null);
  });
  startBtn.addEventListener("click", function () {
    setSession(true, "Dialled " + tag);
    send(null, "new");
  });
  endBtn.addEventListener("click", function () {
    send(null, "close");
    setSession(false, "You ended the session");
  });
  handset.querySelectorAll('input[name="mode"]').forEach(function (radio) {
    radio.addEventListener("change", setMode);
  });

  // Pushes (bulk sends, replies that came late): long-poll for anything sent to this number.
  function poll() {
    var url = base + "/outbound?wait=20&after=" + encodeURIComponent(cursor) +
      "&to_addr=" + encodeURIComponent(number.value.trim());
    fetch(url, { credentials: "same-origin", headers: { "X-CSRF-Token": csrf } })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (data) { cursor = data.cursor; data.messages.forEach(show); setTimeout(poll, 50); })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setMode();
  poll();
})();
