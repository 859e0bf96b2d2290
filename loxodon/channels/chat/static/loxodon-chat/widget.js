/*!
 * Loxodon web chat widget. Plain JavaScript, no build step, no dependencies.
 *
 * Embed on any page of the company's site:
 *   <script src="https://loxodon.example/static/loxodon-chat/widget.js"
 *           data-key="pk_..." data-identity="<token from your server, optional>" async></script>
 * Optional: data-title="Chat with us". The socket goes to the host the script came from
 * (wss://loxodon.example/ws/chat/?key=...). Everything the widget shows is text
 * (textContent), never HTML. See docs/integrations/chat.md.
 */
(function () {
  "use strict";
  var script = document.currentScript ||
    document.querySelector('script[data-key][src*="loxodon-chat/widget.js"]');
  if (!script || window.LoxodonChat) return;  // once per page
  var key = script.getAttribute("data-key") || "";
  if (!key) return;
  var identity = script.getAttribute("data-identity") || "";
  var title = script.getAttribute("data-title") || "Chat with us";
  var src = new URL(script.src, location.href);
  var socketUrl = (src.protocol === "https:" ? "wss://" : "ws://") + src.host +
    "/ws/chat/?key=" + encodeURIComponent(key);
  var cssUrl = src.href.replace(/widget\.js(\?.*)?$/, "widget.css");
  var MAX_CHARS = 2000;

  // ---- storage (private browsing may refuse it: then the id lives for this page only) ----
  var memory = {};
  function load(name) {
    try { return window.localStorage.getItem("loxodon-chat:" + key + ":" + name); }
    catch (e) { return memory[name] || null; }
  }
  function save(name, value) {
    try {
      if (value === null) window.localStorage.removeItem("loxodon-chat:" + key + ":" + name);
      else window.localStorage.setItem("loxodon-chat:" + key + ":" + name, value);
    } catch (e) { memory[name] = value; }
  }
  function randomId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  var visitorId = load("visitor");
  if (!visitorId || !/^[A-Za-z0-9_-]{16,64}$/.test(visitorId)) {
    visitorId = randomId();
    save("visitor", visitorId);
  }

  // ---- DOM (in a shadow root, so that the page's styles and ours never mix) ----
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text) node.textContent = text;
    return node;
  }
  var host = el("div", { id: "loxodon-chat" });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = el("link", { rel: "stylesheet", href: cssUrl });
  var frame = el("div", { "class": "lxc", style: "display:none" });
  css.onload = css.onerror = function () { frame.style.display = ""; };
  var launcher = el("button", {
    type: "button", "class": "lxc-launcher", "aria-expanded": "false", "aria-controls": "lxc-panel"
  });
  var SVG = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("width", "22");
  icon.setAttribute("height", "22");
  var path = document.createElementNS(SVG, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
  icon.appendChild(path);
  launcher.appendChild(icon);
  var launcherText = el("span", { "class": "lxc-launcher-text" }, title);
  var unread = el("span", { "class": "lxc-unread", hidden: "" });
  launcher.appendChild(launcherText);
  launcher.appendChild(unread);

  var panel = el("section", {
    id: "lxc-panel", "class": "lxc-panel", role: "dialog", "aria-labelledby": "lxc-title", hidden: ""
  });
  var header = el("header", { "class": "lxc-header" });
  var heading = el("h2", { id: "lxc-title", "class": "lxc-title" }, title);
  var closeButton = el("button", { type: "button", "class": "lxc-close", "aria-label": "Close chat" }, "×");
  header.appendChild(heading);
  header.appendChild(closeButton);
  var statusLine = el("p", { "class": "lxc-status", role: "status" }, "Connecting…");
  var log = el("ol", { "class": "lxc-log", role: "log", "aria-live": "polite", "aria-label": "Messages" });
  var errorLine = el("p", { "class": "lxc-error", role: "alert" });
  var form = el("form", { "class": "lxc-form" });
  var label = el("label", { "for": "lxc-input", "class": "lxc-sr" }, "Your message");
  var input = el("textarea", {
    id: "lxc-input", rows: "2", maxlength: String(MAX_CHARS), placeholder: "Write a message…",
    autocomplete: "off"
  });
  var send = el("button", { type: "submit", "class": "lxc-send" }, "Send");
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(send);
  var footer = el("div", { "class": "lxc-footer" });
  var endButton = el("button", { type: "button", "class": "lxc-end", hidden: "" }, "End chat");
  footer.appendChild(endButton);
  [header, statusLine, log, errorLine, form, footer].forEach(function (n) { panel.appendChild(n); });
  frame.appendChild(panel);
  frame.appendChild(launcher);
  root.appendChild(css);
  root.appendChild(frame);

  // ---- state ----
  var socket = null;
  var ready = false;         // hello answered: frames may be sent
  var refused = false;       // the server said no (4403): do not retry
  var attempts = 0;
  var chat = null;           // {id, status, agent} of the conversation shown
  var shown = {};            // message id → true
  var outbox = [];           // [{client_id, body, li}] not yet acknowledged
  var unreadCount = 0;
  var pingTimer = null;

  function setStatus(text) { statusLine.textContent = text; }
  function showError(text) { errorLine.textContent = text || ""; }

  function describe() {
    if (!ready) return;
    if (!chat) setStatus("Ask us anything: an agent will answer here.");
    else if (chat.status === "waiting") setStatus("Waiting for an agent… you can keep writing.");
    else if (chat.status === "active") setStatus("You are chatting with " + (chat.agent || "an agent") + ".");
    else setStatus("This chat has ended. Write again to start a new one.");
    endButton.hidden = !chat || chat.status === "ended";
    save("open", chat && chat.status !== "ended" ? "1" : null);
  }

  function clock(iso) {
    var d = new Date(iso);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function line(sender, author, body, iso) {
    var li = el("li", { "class": "lxc-msg lxc-from-" + sender });
    if (sender !== "system") {
      var meta = el("span", { "class": "lxc-meta" });
      meta.appendChild(el("span", { "class": "lxc-author" }, author));
      if (iso) meta.appendChild(el("time", { "class": "lxc-time", datetime: iso }, clock(iso)));
      li.appendChild(meta);
    }
    li.appendChild(el("span", { "class": "lxc-text" }, body));
    return li;
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function addMessage(m, fromHistory) {
    if (shown[m.id]) return;
    shown[m.id] = true;
    var pending = null;
    outbox = outbox.filter(function (p) {
      if (m.sender === "visitor" && p.client_id === m.client_id) { pending = p; return false; }
      return true;
    });
    if (pending) {
      pending.li.classList.remove("lxc-pending");
      var note = pending.li.querySelector(".lxc-sending");
      if (note) note.remove();
      return;
    }
    log.appendChild(line(m.sender, m.author, m.body, m.created_at));
    scrollDown();
    if (!fromHistory && m.sender !== "visitor" && panel.hidden) {
      unreadCount += 1;
      unread.textContent = String(unreadCount);
      unread.hidden = false;
      launcher.setAttribute("aria-label", title + ", " + unreadCount + " new message" + (unreadCount === 1 ? "" : "s"));
    }
  }

  function transmit(item) {
    if (socket && ready && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "message", client_id: item.client_id, body: item.body }));
    }
  }

  // ---- the socket ----
  function connect() {
    if (socket || refused) return;
    setStatus(attempts ? "Reconnecting…" : "Connecting…");
    socket = new WebSocket(socketUrl);
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "hello", visitor_id: visitorId, identity: identity || null }));
    };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "welcome") {
        ready = true;
        attempts = 0;
        frame.setAttribute("data-state", "connected");
        if (data.chat) chat = data.chat;
        (data.messages || []).forEach(function (m) { addMessage(m, true); });
        if (data.identified && data.name) heading.textContent = title + " · " + data.name;
        describe();
        outbox.forEach(transmit);  // re-send what was not acknowledged (same client ids)
        scrollDown();
      } else if (data.type === "ack") {
        if (!chat || chat.id !== data.message.chat_id) {
          chat = { id: data.message.chat_id, status: "waiting", agent: null };
          describe();
        }
        addMessage(data.message, false);
      } else if (data.type === "message") {
        addMessage(data.message, false);
      } else if (data.type === "status") {
        // Only the conversation shown (or a newer open one): a late update of an earlier,
        // ended chat must not replace it.
        if (!chat || chat.id === data.chat.id || (chat.status === "ended" && data.chat.status !== "ended")) {
          chat = data.chat;
          describe();
        }
      } else if (data.type === "error") {
        if (data.client_id) {  // that message was refused: take it back
          outbox = outbox.filter(function (p) {
            if (p.client_id !== data.client_id) return true;
            p.li.remove();
            if (!input.value) input.value = p.body;
            return false;
          });
        }
        showError(data.detail);
      }
    };
    socket.onclose = function (event) {
      socket = null;
      ready = false;
      frame.setAttribute("data-state", "disconnected");
      if (event.code === 4403) {
        refused = true;
        setStatus("Chat is not available on this page.");
        return;
      }
      attempts += 1;
      var wait = Math.min(30000, 1000 * Math.pow(2, attempts - 1)) * (0.5 + Math.random() / 2);
      setStatus("Connection lost: reconnecting…");
      setTimeout(connect, wait);
    };
  }

  pingTimer = setInterval(function () {
    if (socket && ready && socket.readyState === WebSocket.OPEN) socket.send('{"type":"ping"}');
  }, 30000);

  // ---- the visitor's actions ----
  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close " + title.toLowerCase());
    unreadCount = 0;
    unread.hidden = true;
    save("panel", "1");
    connect();
    scrollDown();
    input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.removeAttribute("aria-label");
    save("panel", null);
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
  endButton.addEventListener("click", function () {
    if (socket && ready) socket.send('{"type":"end"}');
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else form.dispatchEvent(new Event("submit"));
    }
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var body = input.value.trim();
    if (!body) return;
    if (body.length > MAX_CHARS) { showError("A message is at most " + MAX_CHARS + " characters."); return; }
    showError("");
    if (chat && chat.status === "ended") log.appendChild(line("system", "", "New conversation", null));
    var li = line("visitor", "You", body, new Date().toISOString());
    li.classList.add("lxc-pending");
    li.appendChild(el("span", { "class": "lxc-sending" }, "Sending…"));
    log.appendChild(li);
    scrollDown();
    var item = { client_id: randomId(), body: body, li: li };
    outbox.push(item);
    input.value = "";
    connect();
    transmit(item);
  });

  function mount() {
    document.body.appendChild(host);
    // Come back to an open conversation (and to the open panel) after a reload.
    if (load("panel") === "1") open();
    else if (load("open") === "1") connect();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  window.LoxodonChat = { open: open, close: close };
})();
