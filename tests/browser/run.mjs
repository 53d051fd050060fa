// CTest entry: skips (77) without Chromium, else runs every *.test.mjs here
// with node's test runner and passes its exit status on.
import { existsSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const chromium = process.env.RADFLOW_CHROMIUM || "/usr/bin/chromium";
if (!existsSync(chromium)) {
  console.log(`SKIP: ${chromium} not found (apt-get install chromium, or scripts/install-deps.sh)`);
  process.exit(77);
}
const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((f) => f.endsWith(".test.mjs")).map((f) => join(here, f));
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
