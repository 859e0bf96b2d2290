/*
 * Loxodon web activity beacon (no build step, no dependencies). See docs/integrations/web.md.
 *
 *   <script src="https://loxodon.example.com/static/loxodon-web/beacon.js"
 *           data-key="pk_..." data-identity="<token from your server, optional>" defer></script>
 *
 * Records a page view on load; `loxodon.track("search", {query})` and
 * `loxodon.track("configuration", {product, options})` record the rest. Hits are batched and
 * sent with navigator.sendBeacon (text/plain: no CORS preflight) when the page is hidden or
 * left, or when 20 are waiting. The visitor id is a random string kept in localStorage.
 * Optional attributes: data-endpoint (default: /web/beacon on the script's own host),
 * data-auto="off" (no automatic page view).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || (window.loxodon && window.loxodon._beacon)) return;
  var key = script.getAttribute("data-key");
  if (!key) return;
  var identity = script.getAttribute("data-identity") || undefined;
  var endpoint = script.getAttribute("data-endpoint") || new URL("/web/beacon", script.src).href;
  var STORE = "loxodon.visitor";
  var MAX_BATCH = 50;
  var FLUSH_AT = 20;
  var queue = [];

  function randomId(bytes) {
    var a = new Uint8Array(bytes);
    (window.crypto || window.msCrypto).getRandomValues(a);
    var s = "";
    for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function visitorId() {
    var id;
    try {
      id = window.localStorage.getItem(STORE);
      if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
        id = randomId(16);
        window.localStorage.setItem(STORE, id);
      }
    } catch (e) {
      id = id || randomId(16); // storage blocked: one visitor per page load
    }
    return id;
  }

  var visitor = visitorId();

  function clip(value, n) {
    value = value == null ? "" : String(value);
    return value.length > n ? value.slice(0, n) : value;
  }

  function cleanOptions(options) {
    var out = {}, n = 0;
    if (!options || typeof options !== "object") return out;
    for (var k in options) {
      if (!Object.prototype.hasOwnProperty.call(options, k) || n >= 30) continue;
      var v = options[k];
      if (typeof v !== "number" && typeof v !== "boolean" && v !== null) v = clip(v, 200);
      out[clip(k, 100)] = v;
      n++;
    }
    return out;
  }

  function hit(type, extra) {
    var h = {
      id: randomId(12),
      type: type,
      at: new Date().toISOString(),
      url: clip(location.href, 2000),
      title: clip(document.title, 300)
    };
    for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) h[k] = extra[k];
    queue.push(h);
    if (queue.length >= FLUSH_AT) flush();
  }

  function flush() {
    while (queue.length) {
      var hits = queue.splice(0, MAX_BATCH);
      var body = JSON.stringify({
        key: key,
        visitor: visitor,
        identity: identity,
        sent_at: new Date().toISOString(),
        hits: hits
      });
      var sent = false;
      try {
        sent = navigator.sendBeacon && navigator.sendBeacon(endpoint, body);
      } catch (e) {
        sent = false;
      }
      if (!sent && window.fetch) {
        fetch(endpoint, {
          method: "POST",
          body: body,
          keepalive: true,
          credentials: "omit",
          mode: "cors",
          headers: { "Content-Type": "text/plain" }
        }).catch(function () {});
      }
    }
  }

  function track(type, data) {
    data = data || {};
    if (type === "search") {
      if (!data.query) return;
      hit("search", { query: clip(data.query, 300) });
    } else if (type === "configuration") {
      if (!data.product) return;
      hit("configuration", { product: clip(data.product, 200), options: cleanOptions(data.options) });
    } else if (type === "page_view") {
      hit("page_view", { referrer: clip(document.referrer, 2000) });
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush();
  });
  window.addEventListener("pagehide", flush);

  window.loxodon = window.loxodon || {};
  window.loxodon._beacon = true;
  window.loxodon.track = track;
  window.loxodon.flush = flush;
  window.loxodon.identify = function (token) {
    identity = token || undefined;
  };
  if (script.getAttribute("data-auto") !== "off") track("page_view");
})();
