// Web chat: plain JS, no build step. Keeps nothing about the conversation in
// the page title, history or storage beyond the open page itself.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("form");
  var input = document.getElementById("text");
  var exitUrl = document.body.getAttribute("data-exit-url") || "https://www.google.com";
  var ws = null;
  var started = false;
  var pending = [];      // messages not yet acknowledged by the server, resent after a reconnect
  var retryDelay = 500;
  var lastEsc = 0;

  function id() {
    var a = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function add(text, who) {
    var div = document.createElement("div");
    div.className = "msg " + who;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function addButtons(buttons) {
    if (!buttons || !buttons.length) return;
    var box = document.createElement("div");
    box.className = "buttons";
    box.setAttribute("role", "group");
    buttons.forEach(function (b) {
      var btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = b.label;
      btn.addEventListener("click", function () {
        Array.prototype.forEach.call(box.querySelectorAll("button"), function (x) { x.disabled = true; });
        add(b.label, "me");
        send({ type: "button", id: id(), payload: b.payload });
      });
      box.appendChild(btn);
    });
    log.appendChild(box);
    log.scrollTop = log.scrollHeight;
  }

  function send(msg) {
    pending.push(msg);
    if (ws && ws.readyState === 1) ws.send(JSON.stringify(msg));
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(proto + location.host + "/ws");
    ws.onopen = function () {
      retryDelay = 500;
      if (!started) { started = true; send({ type: "start", id: id() }); return; }
      pending.forEach(function (m) { ws.send(JSON.stringify(m)); });
    };
    ws.onmessage = function (ev) {
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      if (data.type === "ack") {
        pending = pending.filter(function (m) { return m.id !== data.id; });
      } else if (data.type === "message") {
        if (data.clear) { log.textContent = ""; }
        add(data.text, "bot");
        addButtons(data.buttons);
      }
    };
    ws.onclose = function () {
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    };
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    add(text, "me");
    input.value = "";
    send({ type: "message", id: id(), text: text });
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.submit(); }
  });

  function quickExit() {
    try { if (ws) { ws.onclose = null; ws.close(); } } catch (e) { /* leaving anyway */ }
    log.textContent = "";
    try { localStorage.clear(); sessionStorage.clear(); } catch (e) { /* storage may be blocked */ }
    // The session cookie is HttpOnly: the server clears it (and ends any handoff).
    try { navigator.sendBeacon("/exit"); } catch (e) { /* leaving anyway */ }
    location.replace(exitUrl);
  }
  document.getElementById("exit").addEventListener("click", quickExit);
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var now = Date.now();
    if (now - lastEsc < 800) quickExit();
    lastEsc = now;
  });
  document.getElementById("note-ok").addEventListener("click", function () {
    document.getElementById("note").hidden = true;
    input.focus();
  });
  connect();
})();
