// Copies the token from the URL fragment (never sent to any server) into the code form and
// posts it. A static file, not inline script: the portal's Content-Security-Policy allows 'self' only.
(function () {
  "use strict";
  var token = window.location.hash.slice(1);
  if (!token) { return; }
  var form = document.getElementById("code-form");
  if (!form) { return; }
  history.replaceState(null, "", window.location.pathname);
  var field = form.querySelector("input[name=code]");
  field.value = decodeURIComponent(token);
  document.getElementById("code-status").textContent = "Signing you in…";
  form.submit();
})();
