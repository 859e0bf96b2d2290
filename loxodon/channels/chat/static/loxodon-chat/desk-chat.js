// The desk's chat page: new lines arrive over /ws/chat/agent/, replies go out over it
// (the reply form still works as a plain post without script or socket). No build step.
(function () {
  "use strict";
  var list = document.getElementById("chat-transcript");
  if (!list) return;
  var scroller = document.getElementById("chat-scroll");
  var form = document.getElementById("chat-reply");
  var box = document.getElementById("chat-reply-body");
  var errorBox = document.getElementById("chat-reply-error");
  var stateBox = document.getElementById("chat-live-state");
  var statusBadge = document.getElementById("chat-status");
  var agentName = document.getElementById("chat-agent");
  var chatId = list.dataset.chat;
  var lastSeq = Number(list.dataset.after || "0");
  var socket = null;
  var delay = 1000;
  var STATUS = {
    waiting: ["Waiting for an agent", "text-bg-warning"],
    active: ["Active", "text-bg-primary"],
    ended: ["Ended", "text-bg-secondary"]
  };

  function scrollDown() { if (scroller) scroller.scrollTop = scroller.scrollHeight; }

  function time(iso) {
    var d = new Date(iso);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  // Same markup as chat/_line.html; text only (textContent), never HTML.
  function addLine(m) {
    if (m.seq <= lastSeq || document.getElementById("chat-line-" + m.seq)) return;
    lastSeq = m.seq;
    var empty = document.getElementById("chat-empty");
    if (empty) empty.remove();
    var li = document.createElement("li");
    li.className = "chat-line chat-line-" + m.sender;
    li.id = "chat-line-" + m.seq;
    li.dataset.seq = String(m.seq);
    if (m.sender === "system") {
      var s = document.createElement("span");
      s.className = "chat-text";
      s.textContent = m.body;
      li.appendChild(s);
    } else {
      var a = document.createElement("span");
      a.className = "chat-author";
      a.textContent = m.author;
      var t = document.createElement("time");
      t.className = "chat-time";
      t.dateTime = m.created_at;
      t.textContent = time(m.created_at);
      var b = document.createElement("div");
      b.className = "chat-text";
      b.textContent = m.body;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(t);
      li.appendChild(b);
    }
    list.appendChild(li);
    scrollDown();
  }

  function showStatus(chat) {
    var s = STATUS[chat.status];
    if (statusBadge && s) {
      statusBadge.textContent = s[0];
      statusBadge.className = "badge fs-6 " + s[1];
    }
    if (agentName && chat.agent) agentName.textContent = chat.agent;
    var take = document.getElementById("chat-take");
    if (take && chat.status !== "waiting") take.remove();
    var hint = document.getElementById("chat-take-hint");
    if (hint && chat.status !== "waiting") hint.remove();
    if (chat.status === "ended" && form) {
      form.querySelectorAll("textarea, button").forEach(function (el) { el.disabled = true; });
      errorBox.textContent = "This chat has ended.";
    }
  }

  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
      "/ws/chat/agent/?chat=" + encodeURIComponent(chatId) + "&after=" + lastSeq;
    socket = new WebSocket(url);
    socket.onopen = function () {
      delay = 1000;
      document.body.dataset.chatLive = "connected";
      if (stateBox) stateBox.textContent = "Live";
    };
    socket.onclose = function (e) {
      document.body.dataset.chatLive = "disconnected";
      socket = null;
      if (stateBox) stateBox.textContent = e.code >= 4400 ? "Not live (no access)" : "Reconnecting…";
      if (e.code >= 4400) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "message") addLine(data.message);
      else if (data.type === "status") showStatus(data.chat);
      else if (data.type === "error" && errorBox) errorBox.textContent = data.detail;
    };
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + "-" + Math.random().toString(36).slice(2);
  }

  if (form && box) {
    form.addEventListener("submit", function (e) {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;  // plain post instead
      e.preventDefault();
      var body = box.value.trim();
      if (!body) return;
      errorBox.textContent = "";
      socket.send(JSON.stringify({ type: "message", client_id: newClientId(), body: body }));
      box.value = "";
      box.focus();
    });
    box.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
  }
  scrollDown();
  connect();
})();
