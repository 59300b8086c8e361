/* Draws the reports page's graphs, histograms and pies with Chart.js from each canvas's
   data-chart (the widget's data as the server computed it). */
(function () {
  "use strict";

  var COLORS = ["#1e88e5", "#e53935", "#43a047", "#fb8c00", "#8e24aa",
                "#00acc1", "#6d4c41", "#546e7a", "#d81b60", "#7cb342"];

  function common() {
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { position: "bottom" } }
    };
  }

  function lines(widget) {
    var options = common();
    options.scales = { y: { beginAtZero: true }, x: { ticks: { maxTicksLimit: 8 } } };
    return {
      type: "line",
      data: {
        labels: widget.labels,
        datasets: widget.datasets.map(function (set, i) {
          return {
            label: set.name,
            data: set.values,
            borderColor: COLORS[i % COLORS.length],
            backgroundColor: COLORS[i % COLORS.length],
            pointRadius: set.values.length > 60 ? 0 : 2,
            borderWidth: 2,
            spanGaps: false
          };
        })
      },
      options: options
    };
  }

  function bars(widget) {
    var options = common();
    options.plugins.legend.display = false;
    options.scales = { y: { beginAtZero: true }, x: { ticks: { maxTicksLimit: 8 } } };
    var set = widget.datasets[0];
    return {
      type: "bar",
      data: {
        labels: widget.labels,
        datasets: [{ label: set.name, data: set.values, backgroundColor: COLORS[0] }]
      },
      options: options
    };
  }

  function pie(widget) {
    return {
      type: "pie",
      data: {
        labels: widget.slices.map(function (s) { return s.name; }),
        datasets: [{
          data: widget.slices.map(function (s) { return s.value === null ? 0 : s.value; }),
          backgroundColor: widget.slices.map(function (_s, i) { return COLORS[i % COLORS.length]; })
        }]
      },
      options: common()
    };
  }

  var BUILDERS = { graph: lines, histogram: bars, pie: pie };

  function fail(canvas, text) {
    var note = document.createElement("p");
    note.className = "empty small";
    note.textContent = text;
    canvas.parentNode.parentNode.appendChild(note);
  }

  function init() {
    var canvases = document.querySelectorAll("canvas[data-chart]");
    var drawn = 0;
    canvases.forEach(function (canvas) {
      if (typeof window.Chart === "undefined") {
        fail(canvas, "Charts could not be loaded.");
        return;
      }
      try {
        var widget = JSON.parse(canvas.getAttribute("data-chart"));
        new window.Chart(canvas, BUILDERS[widget.kind](widget));
        drawn += 1;
      } catch (err) {
        fail(canvas, "This chart could not be drawn: " + err.message);
      }
    });
    document.body.setAttribute("data-charts-drawn", String(drawn));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
