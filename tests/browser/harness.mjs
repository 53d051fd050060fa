// Shared setup for the browser tests: a fresh radflowd per test (temp data and
// plugin folders, a free port), headless Chromium via playwright-core, and
// screenshots into the build folder. Paths come from the environment that
// tests/browser/CMakeLists.txt sets, with defaults for a run from the repo root.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, copyFileSync, rmSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
export const BIN_DIR = process.env.RADFLOW_BIN_DIR || join(repo, "build/bin");
export const PLUGIN_DIRS = (process.env.RADFLOW_PLUGIN_DIRS || `${join(repo, "build/plugins")}:${join(repo, "build/tests/plugins")}`).split(":");
export const SCREENSHOT_DIR = process.env.RADFLOW_SCREENSHOT_DIR || join(repo, "build/tests/browser/screenshots");
export const CHROMIUM = process.env.RADFLOW_CHROMIUM || "/usr/bin/chromium";
const WEB_DIR = process.env.RADFLOW_WEB_DIR || join(repo, "web");
const { chromium } = createRequire(join(WEB_DIR, "package.json"))("playwright-core");

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => ok(port)); });
    srv.on("error", fail);
  });
}

// Libraries that exist to test the loader; they only add warnings here.
const BROKEN = ["test-bad-abi.so", "test-no-symbol.so"];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts radflowd; returns {base, dataDir, api(path, opts), stop()}. `prepare(dataDir)`
// runs before radflowd starts on the data folder (to record runs into its store).
export async function startDaemon({ prepare } = {}) {
  const root = mkdtempSync(join(tmpdir(), "radflow-browser-"));
  const pluginDir = join(root, "plugins");
  mkdirSync(pluginDir);
  for (const dir of PLUGIN_DIRS) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.endsWith(".so") && !BROKEN.includes(f)) copyFileSync(join(dir, f), join(pluginDir, f));
  }
  if (prepare) await prepare(join(root, "var"));
  const port = await freePort();
  const proc = spawn(join(BIN_DIR, "radflowd"),
    ["--data-dir", join(root, "var"), "--plugin-dir", pluginDir, "--listen", `127.0.0.1:${port}`,
     "--gpus", "none", "--cpus", "4", "--grace-s", "1", "--log-level", "warn"],
    { stdio: ["ignore", "inherit", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  const api = async (path, opts) => {
    const res = await fetch(base + path, opts);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  for (let i = 0; ; i++) {
    try { if ((await fetch(base + "/healthz")).ok) break; } catch { /* not up yet */ }
    if (i > 1200 || proc.exitCode !== null) throw new Error("radflowd did not start");
    await sleep(50);
  }
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await Promise.race([exited, sleep(5000)]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
    }
    rmSync(root, { recursive: true, force: true });
  };
  return { base, dataDir: join(root, "var"), api, stop };
}

// Submits a workflow through the API and waits until the run has ended.
export async function runToEnd(daemon, workflow, timeoutMs = 30000) {
  const created = await daemon.api("/api/v1/runs",
    { method: "POST", body: JSON.stringify(workflow), headers: { "Content-Type": "application/json" } });
  if (created.status !== 201) throw new Error(`submit failed: ${JSON.stringify(created.body)}`);
  const start = Date.now();
  for (;;) {
    const run = (await daemon.api(`/api/v1/runs/${created.body.id}`)).body;
    if (!["queued", "running"].includes(run.status)) return run;
    if (Date.now() - start > timeoutMs) throw new Error(`run ${run.id} still ${run.status}`);
    await sleep(100);
  }
}

export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "radflow-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
    viewport: { width: 1400, height: 900 },
  });
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  return {
    page, errors,
    close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); },
  };
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

// A daemon and a browser for one test, torn down by t.after().
export async function setup(t, options = {}) {
  const daemon = await startDaemon(options);
  const browser = await launchBrowser();
  t.after(async () => { await browser.close(); await daemon.stop(); });
  return { daemon, page: browser.page, pageErrors: browser.errors };
}
