// Plugins that fail, throw, crash, abort or hang each end their attempt with a
// specific reason (cases/faults.json), and the daemon keeps serving.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

TEST(EndToEnd, FaultyPluginsEndTheirAttemptWithASpecificReason) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  std::ifstream in(RADFLOW_E2E_CASES_DIR "/faults.json");
  const auto cases = nlohmann::json::parse(in);
  ASSERT_EQ(cases.size(), 5u);

  // All at once: one failing step must not disturb another.
  nlohmann::json workflow = {{"name", "faults"}, {"steps", nlohmann::json::object()}};
  for (const auto& c : cases) {
    nlohmann::json step = {{"plugin", c["plugin"]}};
    if (c.contains("timeout_s")) step["timeout_s"] = c["timeout_s"];
    workflow["steps"][c["plugin"].get<std::string>()] = step;
  }
  workflow["steps"]["healthy"] = {{"plugin", "test-ok"}, {"params", {{"value", 41}}}};
  auto [status, created] = daemon.post("/api/v1/runs", workflow.dump());
  ASSERT_EQ(status, 201) << created.dump();
  auto run = daemon.wait_for_run(created["id"], std::chrono::seconds(60));
  ASSERT_EQ(run["status"], "failed") << run.dump(2);

  for (const auto& c : cases) {
    SCOPED_TRACE(c["plugin"].get<std::string>());
    auto step = Daemon::step_of(run, c["plugin"]);
    ASSERT_FALSE(step.is_null());
    EXPECT_EQ(step["status"], c["status"]);
    EXPECT_EQ(step["reason"], c["reason"]) << step.dump(2);
    EXPECT_NE(step["message"].get<std::string>().find(c["message_contains"].get<std::string>()),
              std::string::npos)
        << step["message"];
    ASSERT_EQ(step["attempts"].size(), 1u);
    EXPECT_EQ(step["attempts"][0]["reason"], c["reason"]);
  }
  auto segv = Daemon::step_of(run, "test-segv");
  EXPECT_EQ(segv["attempts"][0]["signal"], 11);
  EXPECT_EQ(Daemon::step_of(run, "healthy")["status"], "succeeded");

  // Still serving, and still running new work.
  EXPECT_TRUE(daemon.running());
  EXPECT_EQ(daemon.get("/healthz")["status"], "ok");
  auto [again, next] = daemon.post(
      "/api/v1/runs", R"({"name": "after", "steps": {"a": {"plugin": "test-ok"}}})");
  ASSERT_EQ(again, 201);
  EXPECT_EQ(daemon.wait_for_run(next["id"], std::chrono::seconds(30))["status"], "succeeded");
}

TEST(EndToEnd, FailedStepIsRetriedAndDownstreamIsSkipped) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  auto [status, created] = daemon.post("/api/v1/runs", R"({
    "name": "retry",
    "steps": {
      "flaky": {"plugin": "test-fail", "retries": 1},
      "after": {"plugin": "test-ok", "inputs": {"in": "flaky.out"}}
    }})");
  ASSERT_EQ(status, 201) << created.dump();
  auto run = daemon.wait_for_run(created["id"], std::chrono::seconds(30));
  auto flaky = Daemon::step_of(run, "flaky");
  EXPECT_EQ(flaky["status"], "failed");
  EXPECT_EQ(flaky["attempts"].size(), 2u) << flaky.dump(2);
  auto after = Daemon::step_of(run, "after");
  EXPECT_EQ(after["status"], "cancelled");
  EXPECT_EQ(after["reason"], "upstream_failed");
  EXPECT_EQ(after["attempts"].size(), 0u);
  EXPECT_EQ(run["status"], "failed");
}

}  // namespace
}  // namespace radflow::test
