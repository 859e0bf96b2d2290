// Loxodon desk: keyboard shortcuts and live updates (no build step).
(function () {
  "use strict";

  // "/" focuses the search box from anywhere (except while typing in a field).
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (["INPUT", "TEXTAREA", "SELECT"].indexOf(tag) !== -1) return;
    var box = document.getElementById("desk-search");
    if (box) { e.preventDefault(); box.focus(); box.select(); }
  });

  var body = document.body;
  body.dataset.deskReady = "1";  // shortcuts are active (browser tests wait for this)

  // Live: one WebSocket per page; new timeline events and screen-pops arrive here.
  if (!body.dataset.live) return;
  var params = [];
  if (body.dataset.liveCustomer) params.push("customer=" + encodeURIComponent(body.dataset.liveCustomer));
  if (body.dataset.liveCase) params.push("case=" + encodeURIComponent(body.dataset.liveCase));
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/desk/" +
    (params.length ? "?" + params.join("&") : "");
  var delay = 1000;

  function connect() {
    var socket = new WebSocket(url);
    socket.onopen = function () { delay = 1000; body.dataset.liveState = "connected"; };
    socket.onclose = function (e) {
      body.dataset.liveState = "disconnected";
      if (e.code >= 4400) return;  // refused: not signed in / no access
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "event") {
        var list = document.getElementById("timeline-items");
        if (!list) return;
        var shown = document.getElementById("event-" + data.id);
        if (shown) {  // a living event (call, chat, web visit) was amended: show its new state
          shown.outerHTML = data.html;
          return;
        }
        var empty = document.getElementById("timeline-empty");
        if (empty) empty.remove();
        list.insertAdjacentHTML("afterbegin", data.html);
        var counter = document.getElementById("live-count");
        if (counter) {
          counter.textContent = String(Number(counter.textContent || "0") + 1);
          counter.parentElement.classList.remove("d-none");
        }
      } else if (data.type === "screen_pop") {
        var holder = document.getElementById("screen-pops");
        if (holder) holder.insertAdjacentHTML("afterbegin", data.html);
      }
    };
  }
  connect();
})();
