// The dashboard in a real headless Chromium against a real radflowd: submit and
// watch live, logs, metric charts, validation errors at their JSON path, compare.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setup, runToEnd, screenshot } from "./harness.mjs";

const chain = {
  name: "live-chain",
  steps: {
    a: { plugin: "test-ok", params: { value: 1, sleep_ms: 700 } },
    b: { plugin: "test-ok", params: { value: 2, sleep_ms: 700 }, inputs: { in: "a.out" } },
    c: { plugin: "test-ok", params: { value: 3, sleep_ms: 700 }, inputs: { in: "b.out" } },
  },
};

const line = (seed, lr) => ({
  name: "line",
  params: { seed },
  steps: {
    data: { plugin: "numbers", params: { seed: "${params.seed}", count: 500, noise: 0.1 } },
    fit: { plugin: "fit-line", params: { epochs: 60, lr }, inputs: { table: "data.table" } },
  },
});

test("the URL radflowd prints (no hash) shows the runs list", async (t) => {
  const { daemon, page, pageErrors } = await setup(t);
  const run = await runToEnd(daemon, chain);
  await page.goto(`${daemon.base}/`);
  await page.waitForSelector(`[data-testid=runs-table] tr[data-run="${run.id}"]`);
  assert.equal(await page.locator("nav a.active").getAttribute("data-nav"), "runs");
  assert.deepEqual(pageErrors, []);
});

test("a workflow submitted through the page turns green live", async (t) => {
  const { daemon, page, pageErrors } = await setup(t);
  // As a user: the printed URL, then the Submit tab.
  await page.goto(`${daemon.base}/`);
  await page.waitForSelector("[data-testid=runs-table]");
  await page.click("nav a[data-nav=submit]");
  await page.fill("[data-testid=workflow-text]", JSON.stringify(chain, null, 2));
  await page.click("[data-testid=submit]");
  await page.waitForURL(/#\/runs\/1/);
  await page.waitForSelector("[data-testid=dag] g.node[data-step=c]");
  // Seen running, then succeeded, with no reload: only server-sent events update it.
  await page.waitForSelector("g.node[data-status=running]", { timeout: 10000 });
  await page.waitForFunction(() => [...document.querySelectorAll("g.node")].every((n) => n.dataset.status === "succeeded"),
    null, { timeout: 20000 });
  assert.equal(await page.locator("g.node").count(), 3);
  await page.waitForSelector(".run-header [data-status=succeeded]"); // the run event follows the last step's
  await screenshot(page, "live-run");
  assert.deepEqual(pageErrors, []);
});

test("a step's attempts and logs, kept after the worker ended", async (t) => {
  const { daemon, page, pageErrors } = await setup(t);
  const run = await runToEnd(daemon, chain);
  assert.equal(run.status, "succeeded");
  await page.goto(`${daemon.base}/#/runs/${run.id}`);
  await page.click("g.node[data-step=b]");
  await page.waitForFunction(() => document.querySelector("[data-testid=logs]").textContent.includes("test-ok done"));
  const logs = await page.textContent("[data-testid=logs]");
  assert.match(logs, /test-ok starting with value 2/);
  const attempts = page.locator("[data-testid=attempts] tbody tr");
  assert.equal(await attempts.count(), 1);
  assert.match(await attempts.first().textContent(), /succeeded.*ok.*0.*cpu/);
  await page.waitForSelector("[data-testid=artifacts] tr[data-artifact]");
  assert.match(await page.textContent("[data-testid=artifacts]"), /out.*file.*download/);
  await screenshot(page, "step-logs");
  assert.deepEqual(pageErrors, []);
});

test("a metric chart has points", async (t) => {
  const { daemon, page, pageErrors } = await setup(t);
  const run = await runToEnd(daemon, line(3, 0.05));
  assert.equal(run.status, "succeeded");
  await page.goto(`${daemon.base}/#/runs/${run.id}?step=fit`);
  await page.waitForSelector("[data-testid=charts] [data-testid=chart] canvas");
  const charts = page.locator("[data-testid=charts] [data-testid=chart]");
  assert.equal(await charts.count(), 3); // intercept, loss, slope
  for (const n of await charts.all()) assert.equal(Number(await n.getAttribute("data-points")), 60);
  assert.match(await page.textContent("[data-testid=charts]"), /loss/);
  await screenshot(page, "metrics");
  assert.deepEqual(pageErrors, []);
});

test("final metrics are values in a table, not one-point charts", async (t) => {
  const { daemon, page, pageErrors } = await setup(t);
  const flow = line(4, 0.05);
  flow.steps.evaluate = { plugin: "evaluate-line", inputs: { table: "data.table", model: "fit.model" } };
  const run = await runToEnd(daemon, flow);
  assert.equal(run.status, "succeeded");
  const metrics = await (await fetch(`${daemon.base}/api/v1/runs/${run.id}/steps/evaluate/metrics`)).json();
  await page.goto(`${daemon.base}/#/runs/${run.id}?step=evaluate`);
  await page.waitForSelector("[data-testid=final-metrics] tr[data-metric=r2]");
  assert.equal(await page.locator("[data-testid=charts] [data-testid=chart]").count(), 0);
  for (const name of ["r2", "mae"]) {
    const row = page.locator(`[data-testid=final-metrics] tr[data-metric=${name}]`);
    const shown = Number(await row.locator(".value").textContent());
    const recorded = metrics.series[name][0][1];
    assert.ok(Math.abs(shown - recorded) <= Math.abs(recorded) * 1e-3, `${name}: ${shown} vs ${recorded}`);
    assert.equal((await row.locator(".interval").textContent()).trim(), "-");
  }
  await screenshot(page, "final-metrics");
  assert.deepEqual(pageErrors, []);
});

test("a validation error is shown at its JSON path and nothing is submitted", async (t) => {
  const { daemon, page, pageErrors } = await setup(t);
  const bad = { name: "bad", steps: { a: { plugin: "test-ok", params: { value: "many" } }, b: { plugin: "nope" } } };
  await page.goto(`${daemon.base}/#/submit`);
  await page.fill("[data-testid=workflow-text]", JSON.stringify(bad, null, 2));
  await page.click("[data-testid=submit]");
  const err = page.locator("[data-testid=validation] li.error[data-path='/steps/a/params/value']");
  await err.waitFor();
  assert.match(await err.textContent(), /param_type/);
  // The line holding the bad value is highlighted, with the message under it.
  const badLine = page.locator(".src-line.bad", { has: page.locator(".inline-error[data-path='/steps/a/params/value']") });
  assert.match(await badLine.locator(".code").textContent(), /"value": "many"/);
  assert.equal(await page.locator("[data-testid=validation] li.error[data-path='/steps/b/plugin']").count(), 1);
  assert.equal((await daemon.api("/api/v1/runs")).body.total, 0);
  await screenshot(page, "validation");
  assert.deepEqual(pageErrors, []);
});

test("two runs compared side by side with curves overlaid", async (t) => {
  const { daemon, page, pageErrors } = await setup(t);
  const r1 = await runToEnd(daemon, line(1, 0.05));
  const r2 = await runToEnd(daemon, line(2, 0.01));
  await page.goto(`${daemon.base}/#/runs`);
  await page.check(`[data-testid=pick-${r1.id}]`);
  await page.check(`[data-testid=pick-${r2.id}]`);
  await page.click("[data-testid=compare-selected]");
  const row = page.locator("[data-testid=compare-table] tr[data-metric='fit/loss']");
  await row.waitFor();
  const values = await row.locator("td").allTextContents();
  assert.equal(values.length, 2);
  for (const v of values) assert.ok(Number.isFinite(Number(v)), v);
  assert.notEqual(values[0], values[1]);
  const chart = page.locator("[data-testid=compare-charts] [data-testid=chart]", { hasText: "fit/loss" });
  assert.equal(Number(await chart.getAttribute("data-points")), 120); // 60 per run
  assert.match(await chart.textContent(), new RegExp(`#${r1.id}[\\s\\S]*#${r2.id}`));
  await screenshot(page, "compare");
  assert.deepEqual(pageErrors, []);
});

test("the runs list pages, filters and searches on the server", async (t) => {
  const { daemon, page, pageErrors } = await setup(t);
  for (let i = 0; i < 3; i++) await runToEnd(daemon, { name: `alpha-${i}`, steps: { a: { plugin: "test-ok" } } });
  await runToEnd(daemon, { name: "beta", steps: { a: { plugin: "test-fail" } } });
  await page.goto(`${daemon.base}/#/runs`);
  await page.waitForSelector("[data-testid=runs-table] tr[data-run='4']");
  assert.match(await page.textContent("[data-testid=runs-range]"), /1.4 of 4/);
  await page.fill("[data-testid=run-search]", "alpha");
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=runs-table] tr[data-run]").length === 3);
  await page.fill("[data-testid=run-search]", "");
  await page.selectOption("[data-testid=run-status]", "failed");
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=runs-table] tr[data-run]").length === 1);
  assert.equal(await page.locator("tr[data-run='4']").count(), 1);
  await screenshot(page, "runs");
  assert.deepEqual(pageErrors, []);
});

test("a finished step re-runs with what follows it from the run page", async (t) => {
  const { daemon, page, pageErrors } = await setup(t);
  const run = await runToEnd(daemon, chain);
  assert.equal(run.status, "succeeded");
  await page.goto(`${daemon.base}/#/runs/${run.id}?step=b`);
  await page.click("[data-testid=rerun-step]");
  // b and c run again (a second attempt each); a is left alone. The re-run can start
  // and finish between two renders, so wait on the API for b's second attempt rather
  // than on a transient "running" node.
  for (let i = 0; ; ++i) {
    const now = await (await fetch(`${daemon.base}/api/v1/runs/${run.id}`)).json();
    if (now.steps.find((s) => s.name === "b").attempts.length === 2) break;
    assert.ok(i < 300, "the re-run did not start within 30 s of the click");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await page.waitForFunction(() => [...document.querySelectorAll("g.node")].every((n) => n.dataset.status === "succeeded") &&
    document.querySelector(".run-header [data-status=succeeded]"), null, { timeout: 30000 });
  const after = await (await fetch(`${daemon.base}/api/v1/runs/${run.id}`)).json();
  const attempts = Object.fromEntries(after.steps.map((s) => [s.name, s.attempts.length]));
  assert.deepEqual(attempts, { a: 1, b: 2, c: 2 });
  assert.deepEqual(pageErrors, []);
});
