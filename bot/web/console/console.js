// Team console: plain JS, no build step. State comes from /team/api/*; the
// WebSocket only says "changed", and a slow poll covers other processes.
(function () {
  "use strict";
  var body = document.body;
  var csrf = body.getAttribute("data-csrf");
  var T = JSON.parse(body.getAttribute("data-t") || "{}");
  var queueEl = document.getElementById("queue");
  var mineEl = document.getElementById("mine");
  var chatEl = document.getElementById("chat");
  var selected = null;       // request id shown on the right
  var lastChat = "";         // to avoid re-rendering (and losing the cursor) when nothing changed

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function minutes(s) { return s < 60 ? s + " s" : Math.floor(s / 60) + " min"; }

  function api(path, data) {
    var opts = { credentials: "same-origin", headers: {} };
    if (data !== undefined) {
      opts.method = "POST";
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = csrf;
      opts.body = JSON.stringify(data);
    }
    return fetch(path, opts).then(function (r) {
      if (r.status === 401) { location.replace("/team/login"); throw new Error("logged out"); }
      return r.json().catch(function () { return {}; }).then(function (j) { j._status = r.status; return j; });
    });
  }

  function card(r, withTake) {
    var li = el("li", { "class": "req", "data-id": String(r.id) });
    var open = el("button", { type: "button", "class": "open" });
    open.appendChild(el("strong", {}, r.alias));
    open.appendChild(el("span", {}, " · " + r.area + " · " + r.language + (r.topic ? " · " + r.topic : "")));
    if (withTake) open.appendChild(el("span", { "class": "wait" }, " · " + T.waiting + " " + minutes(r.waiting_seconds)));
    open.addEventListener("click", function () { select(r.id); });
    li.appendChild(open);
    if (withTake) {
      var take = el("button", { type: "button", "class": "take", "aria-label": T.take + " " + r.alias }, T.take);
      take.addEventListener("click", function () {
        take.disabled = true;
        api("/team/api/requests/" + r.id + "/take", {}).then(function (res) {
          if (res.ok) selected = r.id; else flash(res.message);
          refresh();
        });
      });
      li.appendChild(take);
    }
    return li;
  }

  function flash(text) {
    if (!text) return;
    var p = el("p", { "class": "flash", role: "alert" }, text);
    chatEl.insertBefore(p, chatEl.firstChild);
    setTimeout(function () { if (p.parentNode) p.parentNode.removeChild(p); }, 6000);
  }

  function renderList(target, rows, withTake, emptyText) {
    target.textContent = "";
    if (!rows.length) { target.appendChild(el("li", { "class": "muted" }, emptyText)); return; }
    rows.forEach(function (r) { target.appendChild(card(r, withTake)); });
  }

  function select(id) { selected = id; lastChat = ""; loadChat(); }

  function renderChat(c) {
    var key = JSON.stringify(c);
    if (key === lastChat) return;
    lastChat = key;
    var draft = document.getElementById("reply-text");
    var draftText = draft ? draft.value : "";
    chatEl.textContent = "";
    var h = el("h2", {}, c.alias);
    chatEl.appendChild(h);
    chatEl.appendChild(el("p", { "class": "meta" }, T.area + ": " + c.area + " · " + T.language + ": " + c.language + (c.topic ? " · " + T.topic + ": " + c.topic : "")));
    (c.card || []).forEach(function (line) {
      chatEl.appendChild(el("p", { "class": "meta card-line" }, line));
    });
    if (c.status === "closed") {
      chatEl.appendChild(el("p", { "class": "closed", role: "status" }, T.closed + (c.close_reason === "left" ? " — " + T.left : "")));
    }
    var log = el("ol", { "class": "transcript", "aria-label": c.alias });
    c.messages.forEach(function (m) {
      var li = el("li", { "class": "m " + m.kind });
      li.appendChild(el("span", { "class": "who" }, (m.kind === "user" ? T.her : T.team) + ": "));
      li.appendChild(document.createTextNode(m.text));
      log.appendChild(li);
    });
    chatEl.appendChild(log);
    if (c.mine && c.status === "active") {
      var form = el("form", { "class": "reply" });
      var label = el("label", { "for": "reply-text" }, T.reply);
      var ta = el("textarea", { id: "reply-text", rows: "2", maxlength: "4000" });
      ta.value = draftText;
      var send = el("button", { type: "submit" }, T.send);
      form.appendChild(label); form.appendChild(ta); form.appendChild(send);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var text = ta.value.trim();
        if (!text) return;
        ta.value = "";
        api("/team/api/requests/" + c.id + "/reply", { text: text }).then(function (res) {
          if (res.message) flash(res.message);
          loadChat();
        });
      });
      ta.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); send.click(); }
      });
      chatEl.appendChild(form);
      var actions = el("div", { "class": "actions" });
      [["release", T.release], ["end", T.end]].forEach(function (a) {
        var b = el("button", { type: "button", "class": a[0] }, a[1]);
        b.addEventListener("click", function () {
          api("/team/api/requests/" + c.id + "/" + a[0], {}).then(function () { refresh(); });
        });
        actions.appendChild(b);
      });
      chatEl.appendChild(actions);
      if ((c.tips || []).length) {
        var tf = el("form", { "class": "tips" });
        tf.appendChild(el("label", { "for": "tip-pick" }, T.tips));
        var sel = el("select", { id: "tip-pick" });
        c.tips.forEach(function (t) {
          sel.appendChild(el("option", { value: String(t.n) }, t.n + ". " + t.label + " — " + t.preview));
        });
        tf.appendChild(sel);
        tf.appendChild(el("button", { type: "submit" }, T.insert));
        tf.addEventListener("submit", function (ev) {
          ev.preventDefault();
          api("/team/api/requests/" + c.id + "/tip", { n: sel.value }).then(function () { loadChat(); });
        });
        chatEl.appendChild(tf);
      }
      if ((c.transfer_to || []).length) {
        var xf = el("form", { "class": "transfer" });
        xf.appendChild(el("label", { "for": "transfer-to" }, T.transfer));
        var to = el("select", { id: "transfer-to" });
        c.transfer_to.forEach(function (name) { to.appendChild(el("option", { value: name }, name)); });
        xf.appendChild(to);
        xf.appendChild(el("button", { type: "submit" }, T.do_transfer));
        xf.addEventListener("submit", function (ev) {
          ev.preventDefault();
          api("/team/api/requests/" + c.id + "/transfer", { to: to.value }).then(function (res) {
            if (res.message) flash(res.message);
            refresh();
          });
        });
        chatEl.appendChild(xf);
      }
    }
    if (c.mine) {
      var notes = el("section", { "class": "notes", "aria-label": T.notes });
      notes.appendChild(el("h3", {}, T.notes));
      var ul = el("ul", {});
      c.notes.forEach(function (n) { ul.appendChild(el("li", {}, n.text)); });
      notes.appendChild(ul);
      if (c.status !== "closed") {
        var nf = el("form", { "class": "note-form" });
        var nl = el("label", { "for": "note-text", "class": "sr-only" }, T.note);
        var nt = el("textarea", { id: "note-text", rows: "2", maxlength: "4000" });
        var nb = el("button", { type: "submit" }, T.add_note);
        nf.appendChild(nl); nf.appendChild(nt); nf.appendChild(nb);
        nf.addEventListener("submit", function (ev) {
          ev.preventDefault();
          if (!nt.value.trim()) return;
          api("/team/api/requests/" + c.id + "/note", { text: nt.value }).then(function () { loadChat(); });
        });
        notes.appendChild(nf);
      }
      chatEl.appendChild(notes);
    }
    var focusAgain = document.getElementById("reply-text");
    if (draft && document.activeElement === document.body && focusAgain) focusAgain.focus();
  }

  function loadChat() {
    if (selected === null) return;
    api("/team/api/requests/" + selected).then(function (c) {
      if (c._status !== 200) { selected = null; chatEl.textContent = ""; chatEl.appendChild(el("p", { "class": "muted" }, T.pick)); return; }
      renderChat(c);
    });
  }

  var page = 0;             // page of the queue shown (0 = longest waiting)
  function renderQueueInfo(s) {
    var count = document.getElementById("queue-count");
    if (count) count.textContent = "(" + (s.queue_total || 0) + " " + T.waiting_total + ")";
    var flood = document.getElementById("flood");
    if (flood) {
      flood.hidden = !s.flood;
      flood.textContent = s.flood ? T.flood.replace("{n}", String(s.flood)) : "";
    }
    var pages = document.getElementById("queue-pages");
    if (pages) {
      pages.hidden = (s.pages || 1) <= 1;
      document.getElementById("queue-page").textContent = (s.page + 1) + " / " + s.pages;
      document.getElementById("queue-prev").disabled = s.page <= 0;
      document.getElementById("queue-next").disabled = s.page + 1 >= s.pages;
    }
    if (s.page >= (s.pages || 1) && page > 0) { page = Math.max(0, s.pages - 1); refresh(); }
  }
  ["queue-prev", "queue-next"].forEach(function (id, i) {
    var b = document.getElementById(id);
    if (b) b.addEventListener("click", function () { page = Math.max(0, page + (i ? 1 : -1)); refresh(); });
  });

  function refresh() {
    api("/team/api/state?page=" + page).then(function (s) {
      if (s._status !== 200) return;
      renderQueueInfo(s);
      renderList(queueEl, s.queue || [], true, T.empty_queue);
      renderList(mineEl, s.mine || [], false, T.empty_mine);
      var duty = document.getElementById("duty");
      if (duty) {
        duty.textContent = s.on_duty ? T.on_duty : T.off_duty;
        duty.setAttribute("aria-pressed", s.on_duty ? "true" : "false");
        duty.onclick = function () {
          api("/team/api/duty/" + (s.on_duty ? "off" : "on"), {}).then(function () { refresh(); });
        };
      }
      loadChat();
    });
  }

  var retry = 1000;
  function live() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(proto + location.host + "/team/ws");
    ws.onopen = function () { retry = 1000; refresh(); };
    ws.onmessage = function () { refresh(); };
    ws.onclose = function () { setTimeout(live, retry); retry = Math.min(retry * 2, 15000); };
  }
  refresh();
  live();
  setInterval(refresh, 3000);
})();
