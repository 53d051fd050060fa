// Dashboard benchmark: a run page with 100 steps and 100,000 metric points must
// load and render in under a second. Seeds a fresh radflowd with one run:
// numbers -> fit-line (epochs 33334: 3 series x 33,334 = 100,002 points, since
// test-ok reports only 5 points) plus 98 test-ok steps in 7 chains of 14. Then
// loads #/runs/1?step=fit in headless Chromium several times and reports the
// time from navigation start until the DAG has all 100 nodes and the step's 3
// charts are drawn (server-side downsampled to the chart width).
//
//   node bench/dashboard/run_page_bench.mjs [--loads N]
// (or bench/dashboard/run.py BUILD_DIR, which `make bench` runs: the same, and the
// figures written into BENCHMARKS.md)
import { startDaemon, launchBrowser, runToEnd, screenshot } from "../../tests/browser/harness.mjs";

const loads = Number(process.argv[process.argv.indexOf("--loads") + 1]) || 7;
const steps = {
  data: { plugin: "numbers", params: { seed: 1, count: 200, noise: 0.1 } },
  fit: { plugin: "fit-line", params: { epochs: 33334, lr: 0.01 }, inputs: { table: "data.table" } },
};
for (let c = 0; c < 7; c++) {
  for (let i = 0; i < 14; i++) {
    steps[`c${c}-s${String(i).padStart(2, "0")}`] = i === 0
      ? { plugin: "test-ok", params: { value: c } }
      : { plugin: "test-ok", params: { value: i }, inputs: { in: `c${c}-s${String(i - 1).padStart(2, "0")}.out` } };
  }
}

const daemon = await startDaemon();
const browser = await launchBrowser();
try {
  const seedStart = Date.now();
  const run = await runToEnd(daemon, { name: "bench-100-steps", steps }, 600000);
  if (run.status !== "succeeded") throw new Error(`seed run ${run.status}: ${run.message}`);
  const metrics = (await daemon.api(`/api/v1/runs/${run.id}/steps/fit/metrics`)).body.series;
  const points = Object.values(metrics).reduce((a, s) => a + s.length, 0);
  console.log(`seeded run ${run.id}: ${run.steps.length} steps, ${points} metric points in step fit (${Date.now() - seedStart} ms)`);

  const { page } = browser;
  const times = [];
  for (let i = 0; i < loads; i++) {
    await page.goto("about:blank");
    await page.goto(`${daemon.base}/#/runs/${run.id}?step=fit`);
    const ms = await page.evaluate(() => new Promise((resolve) => {
      const done = () => document.querySelectorAll("[data-testid=dag] g.node").length === 100 &&
        document.querySelectorAll("[data-testid=charts] [data-testid=chart] canvas").length === 3;
      const check = () => (done() ? requestAnimationFrame(() => resolve(performance.now())) : requestAnimationFrame(check));
      check();
    }));
    times.push(ms);
  }
  await screenshot(page, "bench-run-page");
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`run page (100 steps, ${points} points) load -> rendered: median ${median.toFixed(0)} ms, ` +
              `min ${sorted[0].toFixed(0)} ms, max ${sorted[sorted.length - 1].toFixed(0)} ms over ${loads} loads`);
  console.log(median < 1000 ? "PASS: under 1 s" : "FAIL: over 1 s");
  // For bench/dashboard/run.py, which writes BENCHMARKS.md's section.
  console.log(`RESULT points=${points}`);
  console.log(`RESULT load_ms=${times.map((t) => t.toFixed(1)).join(",")}`);
  process.exitCode = median < 1000 ? 0 : 1;
} finally {
  await browser.close();
  await daemon.stop();
}
