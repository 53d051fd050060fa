// The encoder report card as HTML, from the JSON model of GET /api/v1/report
// (docs/report-card.md). One renderer for both places it is shown: the dashboard's
// #/report page (report_view.js) and the self-contained file `radflow report` writes
// (report_card.js). Plots are inline SVG; nothing here loads anything.
//
// renderReportCard(model, { overlaySrc }) returns an HTML string; overlaySrc(overlay)
// gives an overlay's image address (null: the overlay is not shown).

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const num = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(3));
const hasInterval = (f) => f && f.low !== null && f.low !== undefined && f.high !== null && f.high !== undefined;
const short = (digest) => (digest ? digest.slice(0, 12) : "–");
const VERDICT = { better: "better", worse: "worse", "no clear difference": "no clear difference" };

// A figure: value [low, high], tagged with what it is and where it comes from.
function figureCell(f, encoder, provenance) {
  if (!f) return `<td class="fig missing">–</td>`;
  const p = provenance[f.source] || {};
  const title = `${f.metric} recorded by run ${p.run_id} step ${p.step} (${p.plugin} ${p.plugin_version}); ` +
    (hasInterval(f) ? `95% interval from ${f.interval === "step" ? "the step's report.json" : "a bootstrap over its predictions"}` : "no interval");
  return `<td class="fig" data-encoder="${esc(encoder)}" data-metric="${esc(f.metric)}" data-value="${f.value ?? ""}"` +
    ` data-run="${p.run_id}" data-step="${esc(p.metrics_from ? p.metrics_from.step : p.step)}" data-metrics-run="${p.metrics_from ? p.metrics_from.run_id : p.run_id}" data-recorded="${esc(f.recorded_as)}"` +
    ` data-low="${f.low ?? ""}" data-high="${f.high ?? ""}" data-interval="${esc(f.interval ?? "")}" title="${esc(title)}">` +
    `<span class="v">${num(f.value)}</span> <span class="ci">${hasInterval(f) ? `[${num(f.low)}, ${num(f.high)}]` : ""}</span>` +
    ` <a class="src" href="#prov-${f.source}" data-source="${f.source}">[${f.source + 1}]</a></td>`;
}

// A forest plot: one row per entry {label, value, low, high}, the interval as a line
// and the value as a dot; `zero` draws the no-difference line.
export function forestPlot(entries, { title = "", zero = false, marks = [] } = {}) {
  const shown = entries.filter((e) => e.value !== null && e.value !== undefined);
  const xs = shown.flatMap((e) => [e.value, e.low, e.high]).filter((v) => v !== null && v !== undefined);
  if (zero) xs.push(0);
  if (!xs.length) return "";
  let lo = Math.min(...xs), hi = Math.max(...xs);
  if (hi - lo < 1e-9) { lo -= 0.05; hi += 0.05; }
  const pad = (hi - lo) * 0.08;
  lo -= pad; hi += pad;
  // Labels are right-aligned before the plot: wide enough for the longest ("consolidation − pixels").
  const labelW = Math.max(130, 10 + 6.5 * Math.max(0, ...entries.map((e) => String(e.label).length)));
  const plotW = 220, rowH = 20, top = 18, w = labelW + plotW + 60, h = top + rowH * entries.length + 22;
  const x = (v) => labelW + ((v - lo) / (hi - lo)) * plotW;
  const rows = entries.map((e, i) => {
    const y = top + rowH * i + rowH / 2;
    const label = `<text x="${labelW - 6}" y="${y + 4}" text-anchor="end">${esc(e.label)}</text>`;
    if (e.value === null || e.value === undefined) return label + `<text x="${labelW + 4}" y="${y + 4}" class="na">n/a</text>`;
    const line = hasInterval(e) ? `<line class="ci" x1="${x(e.low)}" x2="${x(e.high)}" y1="${y}" y2="${y}"/>` : "";
    const mark = marks[i] ? `<text x="${labelW + plotW + 8}" y="${y + 4}" class="mark">${esc(marks[i])}</text>` : "";
    return label + line + `<circle cx="${x(e.value)}" cy="${y}" r="3.5"/>` + mark;
  }).join("");
  const axisY = top + rowH * entries.length + 4;
  const ticks = [lo + pad, (lo + hi) / 2, hi - pad].map((v) =>
    `<line class="tick" x1="${x(v)}" x2="${x(v)}" y1="${axisY}" y2="${axisY + 4}"/><text x="${x(v)}" y="${axisY + 15}" text-anchor="middle">${num(v)}</text>`).join("");
  const zeroLine = zero ? `<line class="zero" x1="${x(0)}" x2="${x(0)}" y1="${top - 4}" y2="${axisY}"/>` : "";
  return `<figure class="forest"><figcaption>${esc(title)}</figcaption><svg role="img" aria-label="${esc(title)}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
    `${zeroLine}<line class="axis" x1="${labelW}" x2="${labelW + plotW}" y1="${axisY}" y2="${axisY}"/>${ticks}${rows}</svg></figure>`;
}

// Metric against the ablation's axis: points with their intervals, joined in x order.
function curvePlot(curve, axis, numeric) {
  const pts = curve.points.filter((p) => p.value !== null);
  if (!pts.length) return "";
  const w = 340, h = 200, l = 50, r = 14, t = 12, b = 36;
  const ys = pts.flatMap((p) => [p.value, p.low, p.high]).filter((v) => v !== null);
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (hi - lo < 1e-9) { lo -= 0.05; hi += 0.05; }
  const xsNum = pts.map((p, i) => (numeric ? Number(p.x) : i));
  const xlo = Math.min(...xsNum), xhi = Math.max(...xsNum);
  const X = (v) => (xhi === xlo ? (l + w - r) / 2 : l + ((v - xlo) / (xhi - xlo)) * (w - l - r));
  const Y = (v) => t + (1 - (v - lo) / (hi - lo)) * (h - t - b);
  const path = pts.map((p, i) => `${i ? "L" : "M"}${X(xsNum[i])},${Y(p.value)}`).join(" ");
  const marks = pts.map((p, i) => (hasInterval(p) ? `<line class="ci" x1="${X(xsNum[i])}" x2="${X(xsNum[i])}" y1="${Y(p.low)}" y2="${Y(p.high)}"/>` : "") +
    `<circle cx="${X(xsNum[i])}" cy="${Y(p.value)}" r="3.5"><title>${esc(p.encoder)}: ${num(p.value)}</title></circle>` +
    `<text x="${X(xsNum[i])}" y="${h - b + 16}" text-anchor="middle">${esc(p.x)}</text>`).join("");
  return `<figure class="curve" data-metric="${esc(curve.metric)}"><figcaption>${esc(curve.label)} vs ${esc(axis)}</figcaption>` +
    `<svg role="img" aria-label="${esc(curve.label)}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
    `<line class="axis" x1="${l}" x2="${w - r}" y1="${h - b}" y2="${h - b}"/><line class="axis" x1="${l}" x2="${l}" y1="${t}" y2="${h - b}"/>` +
    `<text x="${l - 6}" y="${Y(hi) + 4}" text-anchor="end">${num(hi)}</text><text x="${l - 6}" y="${Y(lo) + 4}" text-anchor="end">${num(lo)}</text>` +
    `<path class="line" d="${path}"/>${marks}</svg></figure>`;
}

function differenceRow(d) {
  const mark = d.significant ? `<span class="sig" title="the paired 95% interval excludes 0">★ ${esc(VERDICT[d.verdict])}</span>` : `<span class="ns">no clear difference</span>`;
  return `<tr class="difference" data-metric="${esc(d.metric)}" data-item="${esc(d.item ?? "")}" data-reference="${esc(d.reference)}" data-other="${esc(d.other)}"` +
    ` data-verdict="${esc(d.verdict)}" data-significant="${d.significant ? 1 : 0}" data-point="${d.difference.point ?? ""}"` +
    ` data-low="${d.difference.low ?? ""}" data-high="${d.difference.high ?? ""}">` +
    `<td>${esc(d.metric)}${d.higher_is_better ? "" : " (lower is better)"}</td><td>${esc(d.reference)} − ${esc(d.other)}</td>` +
    `<td>${num(d.difference.point)} [${num(d.difference.low)}, ${num(d.difference.high)}]</td><td>${d.test_items}</td><td>${mark}</td></tr>`;
}

const DIFFERENCE_HEAD = `<thead><tr><th>metric</th><th>difference</th><th>value [paired 95% CI]</th><th>test items</th><th>significance</th></tr></thead>`;

// The paired differences: the headline metrics' table and one forest plot per metric;
// then per finding or structure (d.item set) a table and one forest plot per item
// metric, its rows the items (and the other encoders), all on the same resamples.
function differenceTable(section) {
  const diffs = section.differences || [];
  if (!diffs.length) return "";
  const plot = (of, label, title) => forestPlot(of.map((d) => ({ label: label(d), value: d.difference.point, low: d.difference.low, high: d.difference.high })),
    { title, zero: true, marks: of.map((d) => (d.significant ? "★" : "")) });
  const headline = diffs.filter((d) => d.item === null || d.item === undefined);
  const perItem = diffs.filter((d) => d.item !== null && d.item !== undefined);
  const others = new Set(diffs.map((d) => d.other)).size;
  let html = `<h4>Paired differences</h4>`;
  if (headline.length) {
    html += `<table class="differences headline">${DIFFERENCE_HEAD}<tbody>${headline.map(differenceRow).join("")}</tbody></table>` +
      `<div class="plots">${[...new Set(headline.map((d) => d.metric))].map((metric) => {
        const of = headline.filter((d) => d.metric === metric);
        return plot(of, (d) => `− ${d.other}`, `${metric}: ${of[0].reference} − other (paired 95% CI)`);
      }).join("")}</div>`;
  }
  if (perItem.length) {
    const itemLabel = (section.items && section.items.label) || "item";
    const labelOf = Object.fromEntries(((section.items && section.items.metrics) || []).map((m) => [m.metric, m.label]));
    html += `<h5>Per ${esc(itemLabel)}</h5><table class="differences items">${DIFFERENCE_HEAD}<tbody>${perItem.map(differenceRow).join("")}</tbody></table>` +
      `<div class="plots per-item-differences">${[...new Set(perItem.map((d) => d.item_metric))].map((m) => {
        const of = perItem.filter((d) => d.item_metric === m);
        return `<div class="item-differences" data-item-metric="${esc(m)}">` +
          plot(of, (d) => (others > 1 ? `${d.item} − ${d.other}` : d.item), `${labelOf[m] || m} per ${itemLabel}: ${of[0].reference} − ${others > 1 ? "other" : of[0].other} (paired 95% CI)`) + `</div>`;
      }).join("")}</div>`;
  }
  return html;
}

function sectionHtml(section, provenance, overlaySrc) {
  const enc = section.encoders;
  const head = `<tr><th>encoder</th>${section.columns.map((c) => `<th>${esc(c.label)}</th>`).join("")}</tr>`;
  const body = enc.map((row) => `<tr data-encoder="${esc(row.encoder)}"><th>${esc(row.encoder)}</th>` +
    section.columns.map((c) => figureCell(row.figures[c.metric], row.encoder, provenance)).join("") + `</tr>`).join("");
  let html = `<section class="report-section" data-section="${esc(section.kind)}"><h3>${esc(section.title)}</h3>` +
    `<table class="figures main">${head}${body}</table>`;
  html += `<div class="plots">${section.columns.map((c) => forestPlot(enc.map((row) => ({ label: row.encoder, ...(row.figures[c.metric] || {}) })),
    { title: `${c.label} (95% CI)` })).join("")}</div>`;
  const items = section.items || { names: [], metrics: [] };
  if (items.names.length && items.metrics.length) {
    const cols = items.names.flatMap((n) => items.metrics.map((m) => ({ name: n, metric: `${m.metric}.${n}`, label: `${n} ${m.label}` })));
    html += `<h4>Per ${esc(items.label)}</h4><table class="figures items"><tr><th>encoder</th>${cols.map((c) => `<th>${esc(c.label)}</th>`).join("")}</tr>` +
      enc.map((row) => `<tr data-encoder="${esc(row.encoder)}"><th>${esc(row.encoder)}</th>${cols.map((c) => figureCell(row.figures[c.metric], row.encoder, provenance)).join("")}</tr>`).join("") +
      `</table><div class="plots per-item">` + items.names.map((n) => `<div class="item-plots" data-item="${esc(n)}"><h5>${esc(n)}</h5>` +
        items.metrics.map((m) => forestPlot(enc.map((row) => ({ label: row.encoder, ...(row.figures[`${m.metric}.${n}`] || {}) })), { title: `${n}: ${m.label} (95% CI)` })).join("") +
        `</div>`).join("") + `</div>`;
  }
  const overlays = enc.flatMap((row) => (row.overlays || []).map((o) => ({ ...o, encoder: row.encoder, src: overlaySrc(o) }))).filter((o) => o.src);
  if (overlays.length) {
    html += `<h4>Overlays (prediction tinted, ground truth outlined)</h4><div class="overlays">` + overlays.map((o) =>
      `<figure><img src="${esc(o.src)}" alt="${esc(o.encoder)} ${esc(o.path)}"><figcaption>${esc(o.encoder)}: ${esc(o.path)}</figcaption></figure>`).join("") + `</div>`;
  }
  return html + differenceTable(section) + `</section>`;
}

function provenanceHtml(provenance) {
  const rows = provenance.map((p, i) => `<tr id="prov-${i}" data-source="${i}"><td>[${i + 1}]</td><td>${esc(p.encoder)}</td><td>${p.run_id}</td><td>${esc(p.step)}` +
    `${p.metrics_from && (p.metrics_from.run_id !== p.run_id || p.metrics_from.step !== p.step) ? ` <span class="muted">(cached from run ${p.metrics_from.run_id} ${esc(p.metrics_from.step)})</span>` : ""}</td>` +
    `<td>${esc(p.plugin)} ${esc(p.plugin_version)}</td><td class="mono" title="${esc(p.plugin_sha256)}">${short(p.plugin_sha256)}</td>` +
    `<td>${esc(p.features_step)}</td><td class="mono" title="${esc(p.checkpoint_sha256)}">${short(p.checkpoint_sha256)}</td>` +
    `<td class="mono" title="${esc(p.dataset_sha256)}">${short(p.dataset_sha256)}</td><td class="mono" title="${esc(p.predictions_sha256)}">${short(p.predictions_sha256)}</td></tr>`).join("");
  return `<section class="report-section" data-section="provenance"><h3>Provenance of every figure</h3><table class="provenance">` +
    `<tr><th></th><th>encoder</th><th>run</th><th>step</th><th>plugin</th><th>plugin sha256</th><th>features</th><th>checkpoint sha256</th><th>dataset sha256</th><th>predictions sha256</th></tr>${rows}</table></section>`;
}

export function renderReportCard(model, { overlaySrc = () => null } = {}) {
  const runs = model.runs.map((r) => `<li>run ${r.id}: ${esc(r.name)} <span class="muted">(workflow ${esc(r.workflow)}, ${esc(r.status)}${r.worker_sha256 ? `, worker ${short(r.worker_sha256)}` : ""})</span></li>`).join("");
  const b = model.bootstrap;
  let html = `<div class="report-card"><h2>Encoder report card</h2><ul class="runs">${runs}</ul>` +
    `<p class="muted">Values are the steps' recorded final metrics; 95% intervals are the plugins' own or a percentile bootstrap over the predictions; ` +
    `differences are paired (${b.resamples} resamples, seed ${b.seed}, the same items for both encoders, per finding and per structure too) and marked ★ when their interval excludes 0. [n] names the provenance row.</p>`;
  if (!model.sections.length) html += `<p class="muted">These runs have no succeeded probe, segment, report-gen or demographic-correlation step.</p>`;
  html += model.sections.map((s) => sectionHtml(s, model.provenance, overlaySrc)).join("");
  if (model.ablations.length) {
    html += `<section class="report-section" data-section="ablations"><h3>Ablations</h3>` + model.ablations.map((a) =>
      `<h4>run ${a.run_id} (${esc(a.workflow)}): against ${esc(a.axis)}</h4><div class="plots">${a.curves.map((c) => curvePlot(c, a.axis, a.numeric)).join("")}</div>`).join("") + `</section>`;
  }
  html += provenanceHtml(model.provenance);
  if (model.warnings.length) html += `<section class="report-section" data-section="warnings"><h3>Warnings</h3><ul>${model.warnings.map((w) => `<li>${esc(w)}</li>`).join("")}</ul></section>`;
  return html + `</div>`;
}
