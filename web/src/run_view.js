// Run page: header and actions, the DAG (live over SSE), and the selected
// step's details: waiting reason, attempts, live log tail, metric charts,
// artifacts with lineage, and previews of what they hold (step_outputs.js).
import { get, post, enc, onEvent, followLogs } from "./api.js";
import { el, fmtTime, fmtDuration, fmtBytes, statusBadge, debounce } from "./util.js";
import { drawDag } from "./dag.js";
import { lineChart, maxPoints } from "./charts.js";
import { showOutputPreviews } from "./step_outputs.js";

const FINAL = ["succeeded", "failed", "cancelled", "cached"];
const MAX_LOG_LINES = 5000;

export function runView(root, runId, query) {
  let run = null, dag = null, dagKey = "", selected = query.get("step") || null;
  let logAbort = null, disposed = false;
  const header = el("div", { class: "run-header" });
  const dagBox = el("div", { class: "dag-box" });
  const stepBox = el("section", { class: "step", "data-testid": "step-panel" });
  root.replaceChildren(header, dagBox, stepBox);

  async function load() {
    run = await get(`/api/v1/runs/${runId}`);
    if (disposed) return;
    renderHeader();
    const key = run.steps.map((s) => s.name + ":" + JSON.stringify(s.inputs)).join("|");
    if (!dag || key !== dagKey) {
      dagKey = key;
      dag = drawDag(dagBox, run.steps, { selected: () => selected, onSelect: select });
    } else run.steps.forEach(dag.update);
    if (!stepBox.firstChild && run.steps.length) {
      const pick = run.steps.find((s) => s.name === selected) ||
        run.steps.find((s) => s.status === "running" || s.status === "failed") || run.steps[run.steps.length - 1];
      select(pick.name, false);
    } else if (selected) renderStepDetails();
  }

  function renderHeader() {
    const active = run.status === "queued" || run.status === "running";
    const action = (label, path, enabled, testid) => el("button", { disabled: !enabled, "data-testid": testid, onclick: async (e) => {
      e.target.disabled = true;
      try { await post(`/api/v1/runs/${runId}/${path}`); } catch (err) { alert(err.message); }
      load();
    } }, label);
    header.replaceChildren(
      el("h2", {}, `Run #${run.id}: ${run.name} `, statusBadge(run.status)),
      el("div", { class: "meta" },
        el("span", {}, `created ${fmtTime(run.created_ms)}`), el("span", {}, `started ${fmtTime(run.started_ms)}`),
        el("span", {}, `duration ${fmtDuration(run.duration_ms)}`),
        run.message ? el("span", { class: "muted" }, run.message) : null,
        action("Cancel", "cancel", active, "cancel-run"),
        action("Retry failed steps", "retry", run.status === "failed" || run.status === "cancelled", "retry-run"),
        el("a", { href: `#/compare?runs=${run.id}` }, "compare\u2026"),
        el("a", { href: `#/report?runs=${run.id}`, "data-testid": "report-link" }, "report card")));
  }

  function select(name, push = true) {
    selected = name;
    if (push) history.replaceState(null, "", `#/runs/${runId}?step=${enc(name)}`);
    run.steps.forEach(dag.update);
    stepBox.replaceChildren(
      el("div", { class: "step-details" }),
      el("h3", {}, "Logs"), el("pre", { class: "logs", "data-testid": "logs" }),
      el("h3", {}, "Metrics"), el("div", { class: "charts", "data-testid": "charts" }),
      el("h3", {}, "Artifacts"), el("div", { class: "artifacts", "data-testid": "artifacts" }),
      el("div", { class: "previews", "data-testid": "previews" }));
    renderStepDetails();
    startLogs();
    loadMetrics();
    loadArtifacts();
  }

  function currentStep() { return run && run.steps.find((s) => s.name === selected); }

  function renderStepDetails() {
    const s = currentStep();
    const box = stepBox.querySelector(".step-details");
    if (!s || !box) return;
    const kv = (k, v) => v === "" || v === null || v === undefined ? null : el("tr", {}, el("th", {}, k), el("td", {}, v));
    box.replaceChildren(...[
      el("h3", {}, `Step ${s.name} `, statusBadge(s.status), " ",
        el("button", { "data-testid": "rerun-step", disabled: run.status === "queued" || run.status === "running",
          title: "run this step again (never from the cache) and every step downstream of it",
          onclick: async (e) => {
            e.target.disabled = true;
            try { await post(`/api/v1/runs/${runId}/steps/${enc(s.name)}/rerun`); } catch (err) { alert(err.message); }
            load();
          } }, "Re-run step and downstream")),
      s.waiting ? el("p", { class: "waiting", "data-testid": "waiting" }, "\u23f3 ", s.waiting) : null,
      el("table", { class: "kv" },
        kv("plugin", `${s.plugin} ${s.plugin_version}`),
        kv("reason", s.reason), kv("message", s.message),
        s.status === "running" ? kv("progress", `${Math.round(s.progress * 100)}% ${s.progress_message}`) : null,
        kv("inputs", Object.entries(s.inputs).map(([k, v]) => `${k} \u2190 ${v}`).join(", ")),
        kv("params", JSON.stringify(s.params)),
        kv("resources", `${s.resources.cpus} CPU, ${s.resources.gpus} GPU, ${s.resources.memory_gb} GB, ${s.resources.ranks} rank(s)`),
        kv("retries / timeout", `${s.retries} / ${s.timeout_s ? s.timeout_s + " s" : "none"}`),
        kv("cache key", s.cache_key), kv("cached from step", s.cached_from_step),
        kv("started", fmtTime(s.started_ms)), kv("finished", fmtTime(s.finished_ms))),
      el("table", { class: "attempts", "data-testid": "attempts" },
        el("thead", {}, el("tr", {}, ["#", "status", "reason", "exit", "devices", "pids", "started", "duration", "message"].map((h) => el("th", {}, h)))),
        el("tbody", {}, s.attempts.length ? s.attempts.map((a) => el("tr", {},
          el("td", {}, a.number), el("td", {}, statusBadge(a.status)), el("td", {}, a.reason),
          el("td", {}, a.signal ? `signal ${a.signal}` : a.exit_code ?? "-"), el("td", {}, a.devices),
          el("td", {}, a.pids.join(" ")), el("td", {}, fmtTime(a.started_ms)),
          el("td", {}, a.finished_ms ? fmtDuration(a.finished_ms - a.started_ms) : "running"),
          el("td", { class: "msg" }, a.message))) : el("tr", {}, el("td", { colspan: 9, class: "muted" }, "no attempts"))))].filter(Boolean));
  }

  // The log tail streams while the step runs and stays after it ends (the
  // lines are stored by the daemon, not held by the worker).
  function startLogs() {
    if (logAbort) logAbort.abort();
    const abort = (logAbort = new AbortController());
    const pre = stepBox.querySelector(".logs");
    const lines = [];
    const name = selected;
    const render = debounce(() => {
      const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = lines.join("\n") || "(no log lines yet)";
      if (stick) pre.scrollTop = pre.scrollHeight;
    }, 100);
    pre.textContent = "(no log lines yet)";
    followLogs(runId, name, 0, (batch) => {
      for (const l of batch) {
        lines.push(`${new Date(l.ts_ms).toLocaleTimeString()} ${l.level.padEnd(7)} ${l.stream.padEnd(7)} ${l.message}`);
      }
      if (lines.length > MAX_LOG_LINES) lines.splice(0, lines.length - MAX_LOG_LINES);
      render();
    }, abort.signal).then(() => { if (!abort.signal.aborted) { pre.dataset.done = "1"; render(); } })
      .catch((err) => { if (!abort.signal.aborted) pre.textContent += `\n[log stream: ${err.message}]`; });
  }

  let metricsSeq = 0;
  async function loadMetrics() {
    const box = stepBox.querySelector(".charts");
    if (!box) return;
    const mySeq = ++metricsSeq;
    const body = await get(`/api/v1/runs/${runId}/steps/${enc(selected)}/metrics?max_points=${maxPoints(box)}`);
    if (mySeq !== metricsSeq || disposed) return;
    box.replaceChildren();
    const names = Object.keys(body.series);
    if (!names.length) { box.append(el("p", { class: "muted" }, "no metrics")); return; }
    // A metric with one point is a final figure (a finding's AUPRC, a structure's Dice,
    // BLEU): shown as a value, with its 95% interval where the step also reports
    // NAME.low and NAME.high (compare does), not as a chart with one dot.
    const series = body.series;
    const base = (n) => n.replace(/\.(low|high)$/, "");
    const isBound = (n) => base(n) !== n && series[base(n)] !== undefined;
    const last = (n) => (series[n] && series[n].length ? series[n][series[n].length - 1][1] : undefined);
    const fmt = (v) => (v === null ? "NaN" : v === undefined ? "-" : Number.isInteger(v) ? String(v) : v.toPrecision(4));
    const finals = names.filter((n) => series[n].length === 1 && !isBound(n));
    if (finals.length) {
      box.append(el("table", { class: "finals", "data-testid": "final-metrics" },
        el("thead", {}, el("tr", {}, ["metric", "value", "95% interval"].map((h) => el("th", {}, h)))),
        el("tbody", {}, finals.map((n) => el("tr", { "data-metric": n },
          el("td", {}, n),
          el("td", { class: "value" }, fmt(last(n))),
          el("td", { class: "interval" }, series[`${n}.low`] && series[`${n}.high`]
            ? `[${fmt(last(`${n}.low`))}, ${fmt(last(`${n}.high`))}]` : "-"))))));
    }
    for (const n of names) {
      if (series[n].length > 1 && !isBound(n)) lineChart(box, n, [{ label: n, points: series[n] }]);
    }
  }

  async function loadArtifacts() {
    const box = stepBox.querySelector(".artifacts");
    if (!box) return;
    const list = await get(`/api/v1/runs/${runId}/steps/${enc(selected)}/outputs`);
    if (disposed) return;
    box.replaceChildren(list.length ? el("table", { class: "arts" },
      el("thead", {}, el("tr", {}, ["output", "kind", "size", "digest", "download", "lineage"].map((h) => el("th", {}, h)))),
      el("tbody", {}, list.map((a) => {
        const lineage = el("div", { class: "lineage" });
        return el("tr", { "data-artifact": a.artifact },
          el("td", {}, a.name), el("td", {}, a.kind), el("td", {}, fmtBytes(a.size_bytes)),
          el("td", { class: "mono", title: a.digest }, a.digest.slice(0, 12)),
          el("td", {}, a.kind === "file"
            ? el("a", { href: `/api/v1/artifacts/${a.artifact}/content`, download: `${a.name}` }, "download")
            : el("span", { class: "muted", title: "folder artifacts need a file path; the API cannot list a folder" }, "folder")),
          el("td", {}, el("button", { onclick: (e) => { e.target.remove(); showLineage(lineage, a.artifact, 0); } }, "show"), lineage));
      }))) : el("p", { class: "muted" }, "no outputs"));
    const previews = stepBox.querySelector(".previews");
    if (previews) showOutputPreviews(previews, currentStep(), list).catch((err) => previews.replaceChildren(el("p", { class: "error" }, err.message)));
  }

  // Follows GET /api/v1/artifacts/{id} "inputs" back through the producers.
  async function showLineage(box, id, depth) {
    const a = await get(`/api/v1/artifacts/${id}`);
    const where = a.producer ? el("a", { href: `#/runs/${a.producer.run_id}?step=${enc(a.producer.step)}` }, `run ${a.producer.run_id} / ${a.producer.step}`) : "unknown producer";
    const item = el("li", {}, `${a.name} #${a.artifact} `, el("span", { class: "mono", title: a.digest }, a.digest.slice(0, 8)), " from ", where);
    const sub = el("ul");
    item.append(sub);
    box.append(depth === 0 ? el("ul", {}, item) : item);
    if (depth >= 8) return;
    for (const input of a.inputs || []) {
      const li = el("li", {}, `${input.input} \u2190 `);
      sub.append(li);
      await showLineage(li, input.artifact, depth + 1);
    }
  }

  const reload = debounce(() => load().catch(() => {}), 300);
  const reloadMetrics = debounce(() => loadMetrics().catch(() => {}), 2000);
  const off = onEvent((ev) => {
    if (ev.run_id !== runId || !run) return;
    const s = ev.step && run.steps.find((x) => x.name === ev.step);
    if (ev.type === "step" && s) {
      Object.assign(s, { status: ev.status, reason: ev.reason, message: ev.message });
      dag.update(s);
      if (s.name === selected && FINAL.includes(ev.status)) { loadMetrics(); loadArtifacts(); }
      // A retried step runs again after its log stream ended: follow the new attempt.
      const pre = stepBox.querySelector(".logs");
      if (s.name === selected && ev.status === "running" && pre && pre.dataset.done) startLogs();
    } else if (ev.type === "progress" && s) {
      Object.assign(s, { progress: ev.fraction, progress_message: ev.message });
      dag.update(s);
      if (s.name === selected) reloadMetrics();
    }
    reload();
  });
  load().catch((err) => root.replaceChildren(el("p", { class: "error" }, err.message)));
  return () => { disposed = true; off(); if (logAbort) logAbort.abort(); };
}
