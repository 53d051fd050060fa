// Metric charts with uPlot. The server downsamples (?max_points=), so a chart
// never holds more points than it has pixels.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { el } from "./util.js";

const COLORS = ["#1f5fd1", "#c0262d", "#17803d", "#a16207", "#7c3aed", "#0e7490", "#be185d", "#4b5563"];
export const color = (i) => COLORS[i % COLORS.length];

export function maxPoints(container) {
  return Math.max(200, Math.min(4000, Math.round((container.clientWidth || 800) * (window.devicePixelRatio || 1))));
}

// One chart: series [{label, points: [[x, y], ...]}], overlaid on a shared x axis.
export function lineChart(container, title, series, { width = 460, height = 220 } = {}) {
  const tables = series.map((s) => [s.points.map((p) => p[0]), s.points.map((p) => p[1])]);
  const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
  const opts = {
    title, width, height,
    scales: { x: { time: false } },
    series: [{ label: "iteration" }, ...series.map((s, i) => ({ label: s.label, stroke: color(i), width: 1.5, spanGaps: true }))],
    axes: [{}, { size: 60 }],
    legend: { live: true },
  };
  const box = el("div", { class: "chart", "data-testid": "chart", "data-points": series.reduce((a, s) => a + s.points.length, 0) });
  container.append(box);
  return new uPlot(opts, data, box);
}
