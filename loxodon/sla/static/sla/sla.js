// Service standards pages (no inline script: the desk's Content-Security-Policy allows 'self' only).
// Run where the script tag sits, after the elements above it, on a full load and on an htmx swap.
(function () {
  "use strict";

  // The site picker on the overview shows its site as soon as it changes.
  document.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // The standard form spells out long minute targets in hours ("· that is 8 h 30").
  function show(input) {
    var out = document.querySelector('[data-sla-hours-for="' + input.id + '"]');
    if (!out) return;
    var m = parseInt(input.value, 10);
    out.textContent = Number.isFinite(m) && m >= 60
      ? "· that is " + Math.floor(m / 60) + " h" + (m % 60 ? " " + String(m % 60).padStart(2, "0") : "")
      : "";
  }
  document.querySelectorAll("[data-sla-minutes]").forEach(function (input) {
    show(input);
    input.addEventListener("input", function () { show(input); });
  });
})();
