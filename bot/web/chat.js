// Web chat: plain JS, no build step. Nothing about the conversation goes into
// the page title, the URL, the history or the browser's storage.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var log = $("log"), form = $("form"), input = $("text"), statusEl = $("status");
  var body = document.body;
  var exitUrl = body.getAttribute("data-exit-url") || "https://www.google.com";
  var embed = body.getAttribute("data-embed") === "1";
  var ws = null, started = false, leaving = false, replaced = false, freshSession = false;
  var pending = [];     // her messages not yet acknowledged; sent again after a reconnect
  var lastSeq = 0;      // last message to her shown on this page
  var token = null;     // embedded page only: the session lives in memory, not a cookie
  var retryDelay = 500, lastEsc = 0, lang = "vi";

  var T = {
    vi: { lang: "EN", langLabel: "English", large: "Chữ lớn", call: "Gọi 113", exit: "Thoát nhanh ✕",
          exitLabel: "Thoát nhanh (nhấn Esc hai lần)", ok: "Đã hiểu", messages: "Tin nhắn", message: "Tin nhắn",
          placeholder: "Nhập tin nhắn…", send: "Gửi", offline: "Mất kết nối, đang thử lại…",
          replaced: "Trang này đã được mở ở cửa sổ khác.",
          note: "Nếu người khác có thể dùng máy này, hãy mở trang ở chế độ ẩn danh (cửa sổ riêng tư). Nhấn <b>Thoát nhanh</b> hoặc phím Esc hai lần để rời trang ngay.",
          you: "Bạn", bot: "Trả lời" },
    en: { lang: "VI", langLabel: "Tiếng Việt", large: "Large text", call: "Call 113", exit: "Quick exit ✕",
          exitLabel: "Quick exit (press Esc twice)", ok: "Got it", messages: "Messages", message: "Message",
          placeholder: "Type a message…", send: "Send", offline: "Connection lost, trying again…",
          replaced: "This page was opened in another window.",
          note: "If someone else may use this device, open this page in a private window. Press <b>Quick exit</b> or Esc twice to leave at once.",
          you: "You", bot: "Reply" }
  };

  function t(key) { return T[lang][key]; }

  function applyLang() {
    document.documentElement.lang = lang;
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (el) {
      var key = el.getAttribute("data-i18n");
      if (key === "note") el.innerHTML = t(key); else el.textContent = t(key);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-label]"), function (el) {
      el.setAttribute("aria-label", t(el.getAttribute("data-i18n-label")));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-ph]"), function (el) {
      el.setAttribute("placeholder", t(el.getAttribute("data-i18n-ph")));
    });
    $("lang").setAttribute("aria-label", t("langLabel"));
    if (!statusEl.hidden) statusEl.textContent = t(replaced ? "replaced" : "offline");
  }

  function newId() {
    var a = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function add(text, who) {
    var div = document.createElement("div");
    div.className = "msg " + who;
    var sr = document.createElement("span");
    sr.className = "sr-only";
    sr.textContent = (who === "me" ? t("you") : t("bot")) + ": ";
    div.appendChild(sr);
    div.appendChild(document.createTextNode(text));
    log.appendChild(div);
    scroll();
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
        send({ type: "button", id: newId(), payload: b.payload });
        input.focus();
      });
      box.appendChild(btn);
    });
    log.appendChild(box);
    scroll();
  }

  function raw(msg) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(msg)); }

  function send(msg) { pending.push(msg); raw(msg); }

  function online(ok) {
    statusEl.hidden = ok;
    statusEl.textContent = ok ? "" : t("offline");
  }

  function onMessage(data) {
    if (data.type === "session") {
      // A token the server just issued or rotated. Embedded: kept in memory.
      // Otherwise it becomes the HttpOnly cookie at once (POST /session).
      if (embed) { token = data.token; return; }
      fetch("/session", { method: "POST", body: data.token, credentials: "same-origin" });
      return;
    }
    if (data.type === "error" && data.error === "no_session" && !embed) {
      // No live session (none yet, expired, or not one the server issued):
      // ask for a fresh cookie, then connect again.
      fetch("/session", { method: "POST", credentials: "same-origin" }).then(
        function () { freshSession = true; }, function () {});
      return;
    }
    if (data.type === "replaced") {
      // The same session was opened in another window: this one stops.
      replaced = true;
      statusEl.hidden = false;
      statusEl.textContent = t("replaced");
      return;
    }
    if (data.type === "limited") {
      // Over the rate limit: the message stays pending and goes again later.
      setTimeout(function () { pending.forEach(raw); }, Math.max(1, data.retry || 5) * 1000);
      return;
    }
    if (data.type === "ack") {
      pending = pending.filter(function (m) { return m.id !== data.id; });
      return;
    }
    if (data.type !== "message") return;
    if (typeof data.seq === "number") {
      if (data.seq <= lastSeq) return;            // already shown (replayed after a reconnect)
      lastSeq = data.seq;
      raw({ type: "seen", seq: lastSeq });
    }
    if (data.clear) log.textContent = "";
    add(data.text, "bot");
    addButtons(data.buttons);
  }

  function connect() {
    if (leaving) return;
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(proto + location.host + "/ws" + (embed ? "?embed=1" : ""));
    ws.onopen = function () {
      retryDelay = 500;
      online(true);
      if (embed) raw(token ? { type: "session", token: token } : { type: "session" });
      raw({ type: "resume", seq: lastSeq });
      if (!started) { started = true; send({ type: "start", id: newId() }); return; }
      pending.forEach(raw);
    };
    ws.onmessage = function (ev) {
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      onMessage(data);
    };
    ws.onclose = function () {
      if (leaving || replaced) return;
      if (freshSession) { freshSession = false; retryDelay = 500; }
      online(false);
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
    send({ type: "message", id: newId(), text: text });
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else form.dispatchEvent(new Event("submit"));
    }
  });

  function quickExit() {
    if (leaving) return;
    leaving = true;
    try { if (ws) { ws.onclose = null; ws.close(); } } catch (e) { /* leaving anyway */ }
    var sid = embed && token ? token : "";
    token = null;
    log.textContent = "";
    input.value = "";
    body.textContent = "";                       // nothing left on screen, even for a moment
    document.title = "";
    try { localStorage.clear(); sessionStorage.clear(); } catch (e) { /* storage may be blocked */ }
    function go() {
      if (embed) {
        try { window.top.location.replace(exitUrl); return; } catch (e) { /* cross-origin: leave the frame */ }
      }
      location.replace(exitUrl);
    }
    // The session cookie is HttpOnly: the server clears it and ends any handoff.
    // Wait for that a moment (never long), then leave; a beacon if fetch is missing.
    var done = false;
    function once() { if (!done) { done = true; go(); } }
    setTimeout(once, 700);
    try {
      fetch("/exit", { method: "POST", body: sid, keepalive: true, credentials: "same-origin" })
        .then(once, once);
    } catch (e) {
      try { navigator.sendBeacon("/exit", sid); } catch (e2) { /* leaving anyway */ }
      once();
    }
  }
  $("exit").addEventListener("click", quickExit);
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape" && ev.key !== "Esc") return;
    var now = Date.now();
    if (now - lastEsc < 1000) quickExit();
    lastEsc = now;
  });
  $("note-ok").addEventListener("click", function () {
    $("note").hidden = true;
    input.focus();
  });
  $("lang").addEventListener("click", function () {
    lang = lang === "vi" ? "en" : "vi";
    applyLang();
  });
  $("large").addEventListener("click", function () {
    var on = !body.classList.contains("large");
    body.classList.toggle("large", on);
    this.setAttribute("aria-pressed", on ? "true" : "false");
  });
  // Leaving the page another way (Back, closing the tab) still ends nothing by
  // itself: she may come back within the same browser session.
  connect();
})();
