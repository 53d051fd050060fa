// De-identification as the dashboard shows it: a hospital's export (synth-cxr with
// phi_canaries: every attribute of the PS3.15 basic profile, private tags and file
// names carry a canary) goes through the dataset step of another radflowd, and no
// page of that run -- run list, run view, the step's logs, attempts and artifacts --
// has a canary anywhere in its DOM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { setup, startDaemon, runToEnd, screenshot } from "./harness.mjs";

// kPhiCanary, kPhiCanaryBirthDate and kPhiCanaryUidRoot of plugins/synth-cxr/dicom_writer.h.
const CANARIES = ["PHICANARY", "19230517", "1.2.999.4242."];

function findFolderWith(root, name) {
  for (const entry of readdirSync(root)) {
    const path = join(root, entry);
    if (entry === name) return root;
    if (statSync(path).isDirectory()) {
      const found = findFolderWith(path, name);
      if (found) return found;
    }
  }
  return null;
}

// The canaries in the page's whole DOM, as HTML (attributes, titles, hidden nodes).
async function canariesInDom(page) {
  const html = await page.evaluate(() => document.documentElement.outerHTML);
  return CANARIES.filter((c) => html.includes(c));
}

test("no DICOM header value reaches the dashboard", async (t) => {
  const { daemon, page, pageErrors } = await setup(t);

  // The export, made by a separate daemon and copied into this one's default data root.
  const pacs = await startDaemon();
  t.after(() => pacs.stop());
  const synth = await runToEnd(pacs, {
    name: "pacs-export",
    steps: { synth: { plugin: "synth-cxr",
                      params: { seed: 11, count: 10, image_size: 48, phi_canaries: true } } },
  }, 120000);
  assert.equal(synth.status, "succeeded");
  const source = findFolderWith(pacs.dataDir, "manifest.csv");
  assert.ok(source, "synth-cxr wrote no manifest.csv");
  const exportDir = join(daemon.dataDir, "data", "export");
  cpSync(source, exportDir, { recursive: true });
  assert.ok(readdirSync(join(exportDir, "images")).some((f) => f.includes("PHICANARY")),
    "the export should carry canaries in its file names");

  const run = await runToEnd(daemon, {
    name: "deid",
    steps: { dataset: { plugin: "dataset",
                        params: { labels: join(exportDir, "manifest.csv"), images_dir: exportDir,
                                  deid_seed: 3, on_bad_file: "fail" } } },
  }, 120000);
  assert.equal(run.status, "succeeded", JSON.stringify(run));

  await page.goto(`${daemon.base}/#/runs`);
  await page.waitForSelector(`text=deid`);
  assert.deepEqual(await canariesInDom(page), [], "run list");

  await page.goto(`${daemon.base}/#/runs/${run.id}`);
  await page.click("g.node[data-step=dataset]");
  await page.waitForFunction(() => document.querySelector("[data-testid=logs]").textContent.includes("burned-in"),
    null, { timeout: 20000 });
  await page.waitForSelector("[data-testid=artifacts] tr[data-artifact]");
  await page.waitForSelector("[data-testid=attempts] tbody tr");
  assert.deepEqual(await canariesInDom(page), [], "run view with the dataset step open");
  await screenshot(page, "deid-step");
  assert.deepEqual(pageErrors, []);
  assert.ok(existsSync(exportDir));
});
