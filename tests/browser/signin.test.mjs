// Signing in to a radflowd that has tokens: the form appears on the first 401, a
// wrong token is refused, the right one becomes an HttpOnly cookie the page cannot
// read, and the page then works with the token's name and role.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { setup, screenshot, BIN_DIR } from "./harness.mjs";

test("the sign-in form appears on 401 and the cookie opens the dashboard", async (t) => {
  const { daemon, page } = await setup(t);
  const token = execFileSync(join(BIN_DIR, "radflowd"),
    ["token", "create", "alice", "--role", "submitter", "--data-dir", daemon.dataDir],
    { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  assert.match(token, /^rf_[0-9a-f]{64}$/);

  await page.goto(`${daemon.base}/#/runs`);
  await page.waitForSelector("[data-testid=signin]");
  await page.fill("[data-testid=signin-token]", "rf_wrong");
  await page.click("[data-testid=signin-submit]");
  await page.waitForFunction(() => document.querySelector("[data-testid=signin-error]").textContent.includes("invalid_token"));
  await screenshot(page, "signin");

  await page.fill("[data-testid=signin-token]", token);
  await page.click("[data-testid=signin-submit]");
  await page.waitForSelector("[data-testid=signout]");
  assert.match(await page.textContent("#session"), /alice \(submitter\)/);
  assert.equal(await page.evaluate(() => document.cookie), ""); // HttpOnly: scripts never see it
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "radflow_token");
  assert.ok(session && session.httpOnly && session.sameSite === "Strict");

  // The page's own requests now carry the cookie: a submit is alice's.
  const created = await page.evaluate(async () => {
    const res = await fetch("/api/v1/runs", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "mine", steps: { a: { plugin: "test-ok" } } }) });
    return res.status;
  });
  assert.equal(created, 201);
  const run = await daemon.api("/api/v1/runs/1", { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(run.body.submitted_by, "alice");

  // Signing out clears the cookie: the form is back.
  await page.click("[data-testid=signout]");
  await page.waitForSelector("[data-testid=signin]");
});
