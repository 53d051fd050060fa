// Compare: pick runs (ids in the URL), see each run's last metric values side
// by side, and every metric's curves overlaid, one line per run.
import { get, enc } from "./api.js";
import { el, fmtDuration, statusBadge } from "./util.js";
import { lineChart, color } from "./charts.js";

const MAX_STEPS = 50; // metric requests per run

export function compareView(root, query) {
  const ids = (query.get("runs") || "").split(",").map(Number).filter((n) => n > 0);
  const input = el("input", { type: "text", value: ids.join(","), placeholder: "run ids, e.g. 3,4", "data-testid": "compare-ids" });
  const go = () => { location.hash = `#/compare?runs=${input.value.replace(/[^0-9,]/g, "")}`; };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
  const body = el("div", {});
  root.replaceChildren(el("h2", {}, "Compare runs"), el("div", { class: "toolbar" }, input, el("button", { onclick: go }, "Compare")), body);
  if (ids.length < 1) { body.append(el("p", { class: "muted" }, "Pick runs on the Runs page (checkboxes), or type their ids.")); return () => {}; }
  body.append(el("p", { class: "muted" }, "loading\u2026"));

  (async () => {
    const runs = await Promise.all(ids.map((id) => get(`/api/v1/runs/${id}`)));
    // series key "step/metric" -> run id -> points
    const series = new Map();
    await Promise.all(runs.map(async (run) => {
      await Promise.all(run.steps.slice(0, MAX_STEPS).map(async (s) => {
        if (!["succeeded", "running", "failed", "cached"].includes(s.status)) return;
        const m = await get(`/api/v1/runs/${run.id}/steps/${enc(s.name)}/metrics?max_points=1000`);
        for (const [name, points] of Object.entries(m.series)) {
          const key = `${s.name}/${name}`;
          if (!series.has(key)) series.set(key, new Map());
          series.get(key).set(run.id, points);
        }
      }));
    }));
    const keys = [...series.keys()].sort();
    const last = (points) => { const p = points && points[points.length - 1]; return p ? p[1] : undefined; };
    const fmt = (v) => v === undefined ? "-" : v === null ? "NaN" : Number(v).toPrecision(6);
    const table = el("table", { class: "compare", "data-testid": "compare-table" },
      el("thead", {}, el("tr", {}, el("th", {}, ""), runs.map((r, i) => el("th", { style: `color:${color(i)}` }, el("a", { href: `#/runs/${r.id}` }, `#${r.id} ${r.name}`))))),
      el("tbody", {},
        el("tr", {}, el("th", {}, "status"), runs.map((r) => el("td", {}, statusBadge(r.status)))),
        el("tr", {}, el("th", {}, "duration"), runs.map((r) => el("td", {}, fmtDuration(r.duration_ms)))),
        el("tr", {}, el("th", {}, "params"), runs.map((r) => el("td", { class: "mono" }, JSON.stringify(r.params)))),
        keys.map((k) => el("tr", { "data-metric": k }, el("th", {}, k, el("span", { class: "muted" }, " (last)")),
          runs.map((r) => el("td", {}, fmt(last(series.get(k).get(r.id)))))))));
    const charts = el("div", { class: "charts", "data-testid": "compare-charts" });
    body.replaceChildren(table, el("h3", {}, "Curves"), charts);
    if (!keys.length) charts.append(el("p", { class: "muted" }, "no metrics in these runs"));
    for (const k of keys) {
      const per = series.get(k);
      lineChart(charts, k, runs.filter((r) => per.has(r.id)).map((r) => ({ label: `#${r.id}`, points: per.get(r.id) })));
    }
  })().catch((err) => body.replaceChildren(el("p", { class: "error" }, err.message)));
  return () => {};
}
