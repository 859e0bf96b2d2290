/* Insights dashboard: draw each <canvas data-chart="ID"> from the JSON in
   <script type="application/json" id="ID"> (Django's json_script), with Chart.js.
   Redraws after htmx swaps the results when a filter changes. No inline script. */
(function () {
  "use strict";

  var COLOURS = ["#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997"];
  var renders = 0;

  function spec(id) {
    var source = document.getElementById(id);
    if (!source) return null;
    try {
      return JSON.parse(source.textContent);
    } catch (err) {
      return null;
    }
  }

  function config(canvas, data) {
    var type = canvas.dataset.chartType || "bar";
    var horizontal = canvas.dataset.chartAxis === "y";
    var valueAxis = { beginAtZero: true };
    if (data.max) valueAxis.max = data.max;
    var scales = horizontal ? { x: valueAxis } : { y: valueAxis };
    return {
      type: type,
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series, i) {
          var colour = COLOURS[i % COLOURS.length];
          return {
            label: series.label,
            data: series.data,
            backgroundColor: type === "line" ? colour : colour + "cc",
            borderColor: colour,
            borderWidth: type === "line" ? 2 : 0,
            tension: 0.25,
            spanGaps: true,
            pointRadius: 3,
            maxBarThickness: 56,
          };
        }),
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: scales,
        plugins: { legend: { display: data.series.length > 1, position: "bottom" } },
      },
    };
  }

  function draw() {
    if (!window.Chart) return;
    var drawn = 0;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var data = spec(canvas.dataset.chart);
      if (!data || !data.labels || !data.labels.length) return;
      var existing = window.Chart.getChart(canvas);
      if (existing) existing.destroy();
      new window.Chart(canvas, config(canvas, data));
      canvas.dataset.chartDrawn = "1";
      drawn += 1;
    });
    renders += 1;
    document.body.dataset.chartsDrawn = String(drawn);   // how many charts the last render drew
    document.body.dataset.chartsRenders = String(renders); // browser tests wait for a redraw
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "dash-results") draw();
  });
  // Back/forward restores the page from htmx's snapshot: canvases without their charts.
  document.body.addEventListener("htmx:historyRestore", draw);
})();
