// Runs: a server-side paged list with status, workflow, search and sort, kept
// fresh by run events. Search and sort use /api/v1/dashboard/runs (the public
// list has neither); the plain list uses /api/v1/runs.
import { get, onEvent } from "./api.js";
import { el, fmtTime, fmtDuration, statusBadge, debounce } from "./util.js";

const PAGE = 50;
const STATUSES = ["", "queued", "running", "succeeded", "failed", "cancelled"];

export function runsView(root, query) {
  const state = {
    q: query.get("q") || "", status: query.get("status") || "", workflow: query.get("workflow") || "",
    sort: query.get("sort") || "id", order: query.get("order") || "desc", offset: Number(query.get("offset") || 0),
  };
  const picked = new Set();
  const search = el("input", { type: "search", placeholder: "search name, message or #id", value: state.q, "data-testid": "run-search" });
  const status = el("select", { "data-testid": "run-status" }, STATUSES.map((s) => el("option", { value: s, selected: s === state.status }, s || "any status")));
  const workflow = el("input", { type: "text", placeholder: "workflow (exact)", value: state.workflow, list: "workflow-names", "data-testid": "run-workflow" });
  const names = el("datalist", { id: "workflow-names" });
  const compareBtn = el("button", { "data-testid": "compare-selected", disabled: true, onclick: () => { location.hash = `#/compare?runs=${[...picked].join(",")}`; } }, "Compare selected");
  const tbody = el("tbody");
  const pager = el("div", { class: "pager" });
  const head = (label, key) => key
    ? el("th", { class: "sortable", onclick: () => { state.order = state.sort === key && state.order === "desc" ? "asc" : "desc"; state.sort = key; state.offset = 0; load(); } },
        label, state.sort === key ? (state.order === "desc" ? " \u25be" : " \u25b4") : "")
    : el("th", {}, label);
  const thead = el("thead");
  root.replaceChildren(
    el("h2", {}, "Runs"),
    el("div", { class: "toolbar" }, search, status, workflow, names, compareBtn),
    el("table", { class: "runs", "data-testid": "runs-table" }, thead, tbody), pager);

  let seq = 0;
  async function load() {
    const mySeq = ++seq;
    const params = new URLSearchParams({ limit: PAGE, offset: state.offset });
    if (state.status) params.set("status", state.status);
    const plain = !state.q && !state.workflow && state.sort === "id" && state.order === "desc";
    if (!plain) {
      if (state.q) params.set("q", state.q);
      if (state.workflow) params.set("workflow", state.workflow);
      params.set("sort", state.sort);
      params.set("order", state.order);
    }
    const body = await get(`${plain ? "/api/v1/runs" : "/api/v1/dashboard/runs"}?${params}`);
    if (mySeq !== seq) return;
    const url = new URLSearchParams(Object.entries(state).filter(([k, v]) => v && !(k === "sort" && v === "id") && !(k === "order" && v === "desc")));
    history.replaceState(null, "", `#/runs${url.toString() ? "?" + url : ""}`);
    thead.replaceChildren(el("tr", {}, head(""), head("ID", "id"), head("Status"), head("Workflow"), head("Created"), head("Duration", "duration"), head("By"), head("Tags"), head("Message")));
    tbody.replaceChildren(...body.runs.map((r) => el("tr", { "data-run": r.id },
      el("td", {}, el("input", { type: "checkbox", checked: picked.has(r.id), "data-testid": `pick-${r.id}`,
        onchange: (e) => { e.target.checked ? picked.add(r.id) : picked.delete(r.id); compareBtn.disabled = picked.size < 2; } })),
      el("td", {}, el("a", { href: `#/runs/${r.id}` }, `#${r.id}`)),
      el("td", {}, statusBadge(r.status)),
      el("td", {}, el("a", { href: `#/runs/${r.id}` }, r.name)),
      el("td", {}, fmtTime(r.created_ms)),
      el("td", {}, fmtDuration(r.duration_ms)),
      el("td", {}, r.submitted_by || "\u2013"),
      el("td", {}, ...(r.tags || []).map((t) => el("span", { class: "tag" }, t))),
      el("td", { class: "muted" }, r.message))));
    if (!body.runs.length) tbody.append(el("tr", {}, el("td", { colspan: 9, class: "muted" }, "No runs.")));
    const seen = new Set([...names.children].map((o) => o.value));
    for (const r of body.runs) if (!seen.has(r.name)) { seen.add(r.name); names.append(el("option", { value: r.name })); }
    const last = Math.min(body.offset + body.runs.length, body.total);
    pager.replaceChildren(
      el("button", { disabled: state.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - PAGE); load(); } }, "\u2039 Newer"),
      el("span", { "data-testid": "runs-range" }, body.total ? ` ${body.offset + 1}\u2013${last} of ${body.total} ` : " 0 runs "),
      el("button", { disabled: last >= body.total, onclick: () => { state.offset += PAGE; load(); } }, "Older \u203a"));
  }
  const typed = debounce(() => { state.q = search.value.trim(); state.workflow = workflow.value.trim(); state.offset = 0; load(); }, 250);
  search.addEventListener("input", typed);
  workflow.addEventListener("input", typed);
  status.addEventListener("change", () => { state.status = status.value; state.offset = 0; load(); });
  const refresh = debounce(load, 500);
  const off = onEvent((ev) => { if (ev.type === "run") refresh(); });
  load();
  return () => off();
}
