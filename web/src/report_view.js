// Report card page (#/report?runs=1,2): GET /api/v1/report drawn by report_render.js,
// the same renderer `radflow report` embeds in its HTML file; overlays are shown from
// the artifact store.
import "./report.css";
import { get } from "./api.js";
import { el } from "./util.js";
import { renderReportCard } from "./report_render.js";

export function reportView(root, query) {
  const ids = (query.get("runs") || "").split(",").map(Number).filter((n) => n > 0);
  const input = el("input", { type: "text", value: ids.join(","), placeholder: "run ids, e.g. 3,4", "data-testid": "report-ids" });
  const go = () => { location.hash = `#/report?runs=${input.value.replace(/[^0-9,]/g, "")}`; };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
  const body = el("div", { "data-testid": "report-card" });
  root.replaceChildren(el("div", { class: "toolbar" }, input, el("button", { onclick: go }, "Report card")), body);
  if (!ids.length) {
    body.append(el("p", { class: "muted" }, "Type the ids of runs with evaluation steps, or open a run and follow \u201creport card\u201d."));
    return () => {};
  }
  body.append(el("p", { class: "muted" }, "computing the paired bootstrap\u2026"));
  let disposed = false;
  get(`/api/v1/report?runs=${ids.join(",")}`).then((model) => {
    if (disposed) return;
    body.innerHTML = renderReportCard(model, {
      overlaySrc: (o) => `/api/v1/artifacts/${o.artifact}/content/${o.path.split("/").map(encodeURIComponent).join("/")}`,
    });
    body.dataset.loaded = "1";
  }).catch((err) => { if (!disposed) body.replaceChildren(el("p", { class: "error" }, err.message)); });
  return () => { disposed = true; };
}
