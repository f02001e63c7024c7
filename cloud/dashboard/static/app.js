// Renders the page's Plotly figures (JSON embedded by the server) and wires clicks.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var holder = document.getElementById("figs");
  if (!holder || typeof Plotly === "undefined") { return; }
  var figs = JSON.parse(holder.textContent);
  Object.keys(figs).forEach(function (key) {
    var el = document.getElementById("plot-" + key);
    if (!el) { return; }
    var fig = figs[key];
    Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false});
    if (el.dataset.click === "wheel") {
      el.on("plotly_click", function (ev) {
        var wheel = ev.points && ev.points[0] && ev.points[0].y;
        if (wheel && /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(wheel)) {
          window.location.href = "/wheels/" + encodeURIComponent(wheel);
        }
      });
    }
  });
  document.body.dataset.plotsReady = "1";
  if (window.performance && performance.mark) { performance.mark("plots-ready"); }
});
