// The encoder report card in Chromium: a two-encoder run with known metrics and
// predictions (recorded into the store by radflow-report-fixture before radflowd
// starts), on the dashboard's #/report page and in the file `radflow report` writes.
// Every section is there, every figure equals the metric its step recorded (read back
// over the API), every figure has its 95% interval (the one GET /api/v1/report gives,
// from where the model says), and every significance mark, per finding and per
// structure too, agrees with the fixture's independent recomputation from the
// predictions artifacts (tests/report/paired_recomputation.h, which does not use
// plugins/compare). The step page shows every final figure with the interval its step
// recorded (NAME.low, NAME.high), overlays as thumbnails and report-gen's side-by-side
// table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setup, screenshot, BIN_DIR } from "./harness.mjs";

const FIXTURE = process.env.RADFLOW_REPORT_FIXTURE || join(BIN_DIR, "radflow-report-fixture");
const SECTIONS = ["probe", "segment", "report", "demographics"];
// Every figure of the fixture's card, per section, and where its interval comes from:
// the plugin's report.json ("step") or a bootstrap over its predictions.
const FIGURES = {
  probe: { macro_auprc: "predictions", macro_auroc: "predictions", "auprc.effusion": "step", "auroc.effusion": "step", "auprc.nodule": "step", "auroc.nodule": "step" },
  segment: { mean_dice: "step", mean_iou: "step", "dice.lungs": "step", "iou.lungs": "step", "dice.heart": "step", "iou.heart": "step" },
  report: { bleu4: "step", rouge_l: "step", finding_f1_macro: "step", "finding_f1.effusion": "step", "finding_f1.nodule": "step" },
  demographics: { sex_auroc: "step", age_r2: "step", age_mae: "step" },
};

async function withFixtureRun(t) {
  let expected = null;
  const ctx = await setup(t, {
    prepare: (dataDir) => { expected = JSON.parse(execFileSync(FIXTURE, [dataDir], { encoding: "utf8" })); },
  });
  return { ...ctx, expected };
}

// Every figure cell of the page: its attributes and shown text.
const figureCells = (page) => page.$$eval("[data-section] td.fig", (cells) => cells.map((c) => ({
  section: c.closest("[data-section]").dataset.section, ...c.dataset, text: c.querySelector(".v").textContent,
})));
const differenceRows = (page) => page.$$eval("tr.difference", (rows) => rows.map((r) => ({
  section: r.closest("[data-section]").dataset.section, ...r.dataset,
})));

async function checkReportCard(page, daemon, expected) {
  for (const s of [...SECTIONS, "provenance"]) {
    assert.equal(await page.locator(`[data-section=${s}]`).count(), 1, `section ${s}`);
  }
  // Every figure is the step's recorded final value, shown to 3 decimals.
  const cells = await figureCells(page);
  const perEncoder = Object.values(FIGURES).reduce((n, f) => n + Object.keys(f).length, 0);
  assert.equal(cells.length, 2 * perEncoder, "one cell per encoder and figure");
  const series = new Map();
  for (const c of cells) {
    const key = `${c.metricsRun}/${c.step}`;
    if (!series.has(key)) series.set(key, (await daemon.api(`/api/v1/runs/${c.metricsRun}/steps/${c.step}/metrics`)).body.series);
    const points = series.get(key)[c.recorded];
    assert.ok(points, `${c.step} recorded no ${c.recorded}`);
    assert.equal(Number(c.value), points[points.length - 1][1], `${c.step} ${c.recorded}`);
    assert.equal(c.text, Number(c.value).toFixed(3));
  }
  // Every figure carries its 95% interval: the model's, from where the model says.
  const model = (await daemon.api(`/api/v1/report?runs=${expected.run_id}`)).body;
  for (const [section, figures] of Object.entries(FIGURES)) {
    const rows = model.sections.find((s) => s.kind === section).encoders;
    for (const [metric, from] of Object.entries(figures)) {
      const of = cells.filter((c) => c.section === section && c.metric === metric);
      assert.equal(of.length, 2, `${section} ${metric}: one per encoder`);
      for (const c of of) {
        const f = rows.find((r) => r.encoder === c.encoder).figures[metric];
        assert.ok(c.low !== "" && c.high !== "" && Number(c.low) <= Number(c.high), `${section} ${metric} interval`);
        assert.equal(Number(c.low), f.low, `${section} ${metric} low`);
        assert.equal(Number(c.high), f.high, `${section} ${metric} high`);
        assert.equal(c.interval, from, `${section} ${metric}: interval from`);
      }
    }
  }
  // Every significance mark = the independent recomputation from the predictions,
  // headline, per finding and per structure: one row per recomputed difference.
  const rows = await differenceRows(page);
  let marked = 0, checked = 0;
  for (const [section, verdicts] of Object.entries(expected.differences)) {
    for (const [metric, verdict] of Object.entries(verdicts)) {
      const row = rows.find((r) => r.section === section && r.metric === metric);
      assert.ok(row, `${section} ${metric}: no difference row`);
      assert.equal(row.verdict, verdict, `${section} ${metric}`);
      assert.equal(row.significant, verdict === "no clear difference" ? "0" : "1", `${section} ${metric}`);
      assert.equal(row.item, metric.includes(".") ? metric.slice(metric.indexOf(".") + 1) : "", `${section} ${metric} item`);
      marked += row.significant === "1";
      ++checked;
    }
  }
  assert.equal(checked, rows.length, "every difference row was recomputed");
  assert.ok(checked >= 2 * 6 + 5 + 3, `only ${checked} differences`);
  assert.ok(marked > 0 && marked < rows.length, "the fixture has both significant and unclear differences");
  // Per finding / structure the differences are also a forest plot per metric, one row per item.
  for (const [section, metric] of [["probe", "auroc"], ["probe", "auprc"], ["segment", "dice"], ["segment", "iou"], ["report", "finding_f1"]]) {
    assert.equal(await page.locator(`[data-section=${section}] .item-differences[data-item-metric=${metric}] svg circle`).count(),
      2, `${section} ${metric}: one dot per ${section === "segment" ? "structure" : "finding"}`);
  }
  // Forest plots: the headline ones, one per finding and metric, and the differences.
  assert.equal(await page.locator("[data-section=probe] .item-plots[data-item=effusion] figure.forest svg").count(), 2);
  assert.ok(await page.locator("[data-section=segment] figure.forest svg circle").count() >= 4);
}

test("the report card of a two-encoder run: figures, intervals, significance, overlays", async (t) => {
  const { daemon, page, pageErrors, expected } = await withFixtureRun(t);
  await page.goto(`${daemon.base}/#/report?runs=${expected.run_id}`);
  await page.waitForSelector("[data-testid=report-card][data-loaded]", { timeout: 30000 });
  await checkReportCard(page, daemon, expected);
  // Overlays from the artifact store, as images that load.
  await page.waitForFunction(() => [...document.querySelectorAll("[data-section=segment] .overlays img")].every((i) => i.complete && i.naturalWidth > 0));
  assert.equal(await page.locator("[data-section=segment] .overlays img").count(), 2);
  await screenshot(page, "report-card");
  assert.deepEqual(pageErrors, []);
});

// The step page's final-metrics table: every figure of the card's section with the
// interval the step recorded (NAME.low / NAME.high, which the plugins record beside
// NAME), shown as "[low, high]" to 4 significant digits; the bounds are no rows.
async function checkFinalMetrics(page, daemon, runId, step, figures) {
  await page.waitForSelector("[data-testid=final-metrics] tr[data-metric]");
  const series = (await daemon.api(`/api/v1/runs/${runId}/steps/${step}/metrics`)).body.series;
  const last = (n) => series[n][series[n].length - 1][1];
  const fmt = (v) => (Number.isInteger(v) ? String(v) : v.toPrecision(4));
  for (const metric of Object.keys(figures)) {
    const row = page.locator(`[data-testid=final-metrics] tr[data-metric="${metric}"]`);
    assert.equal(await row.count(), 1, `${step} ${metric}: one row`);
    assert.ok(series[`${metric}.low`] && series[`${metric}.high`], `${step} recorded no interval for ${metric}`);
    assert.equal((await row.locator(".value").textContent()).trim(), fmt(last(metric)), `${step} ${metric}`);
    assert.equal((await row.locator(".interval").textContent()).trim(),
      `[${fmt(last(`${metric}.low`))}, ${fmt(last(`${metric}.high`))}]`, `${step} ${metric} interval`);
  }
  assert.equal(await page.locator("[data-testid=final-metrics] tr[data-metric$='.low']").count(), 0);
}

test("the step page shows final figures with their intervals, overlays as thumbnails and report-gen's side by side", async (t) => {
  const { daemon, page, pageErrors, expected } = await withFixtureRun(t);
  await page.goto(`${daemon.base}/#/runs/${expected.run_id}?step=segment-pretrained`);
  await checkFinalMetrics(page, daemon, expected.run_id, "segment-pretrained", FIGURES.segment);
  await page.waitForSelector("[data-testid=thumbnails] img");
  await page.waitForFunction(() => [...document.querySelectorAll("[data-testid=thumbnails] img")].every((i) => i.complete && i.naturalWidth > 0));
  assert.match(await page.textContent("[data-testid=thumbnails]"), /overlays\/0_case0\.png/);
  await page.goto(`${daemon.base}/#/runs/${expected.run_id}?step=report-pretrained`);
  await page.reload();
  await checkFinalMetrics(page, daemon, expected.run_id, "report-pretrained", FIGURES.report);
  await page.waitForSelector("[data-testid=side-by-side] tbody tr");
  assert.equal(await page.locator("[data-testid=side-by-side] tbody tr").count(), 50);  // first 50 of 60
  const first = await page.locator("[data-testid=side-by-side] tbody tr").first().textContent();
  assert.match(first, /images\/case0\.dcm.*no nodule/);
  await screenshot(page, "step-side-by-side");
  assert.deepEqual(pageErrors, []);
});

test("radflow report writes one self-contained HTML file with the same card", async (t) => {
  const { daemon, page, pageErrors, expected } = await withFixtureRun(t);
  const dir = mkdtempSync(join(tmpdir(), "radflow-report-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "card.html");
  const said = execFileSync(join(BIN_DIR, "radflow"), ["--server", daemon.base, "report", String(expected.run_id), "--out", file], { encoding: "utf8" });
  assert.match(said, /report card of run \d+: \d+ figures, [1-9]\d* significant paired differences? -> .*card\.html/);
  const html = readFileSync(file, "utf8");
  assert.doesNotMatch(html, /https?:\/\//i, "the file refers to an http(s) address");
  assert.doesNotMatch(html, /<link|<script[^>]+src=|@import|url\(\s*['"]?(?!data:)/i, "the file loads something");
  // Opened from disk, it asks for nothing but itself and its data: URIs.
  const requests = [];
  page.on("request", (r) => { if (!/^(file|data):/.test(r.url())) requests.push(r.url()); });
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector("[data-section=provenance]");
  await checkReportCard(page, daemon, expected);
  await page.waitForFunction(() => [...document.querySelectorAll(".overlays img")].every((i) => i.complete && i.naturalWidth > 0));
  assert.equal(await page.locator(".overlays img[src^='data:image/png;base64,']").count(), 2);
  assert.deepEqual(requests, []);
  await screenshot(page, "report-card-file");
  assert.deepEqual(pageErrors, []);
});
