// Crash recovery: radflowd is killed with SIGKILL at 10 random moments of a 20-step
// workflow and restarted each time. In the end every step has succeeded exactly once
// (counted by the plugin itself when it completes) and the database is intact.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

nlohmann::json twenty_steps() {
  // Four chains of five: each step reads its predecessor, so restarts land in the
  // middle of dependencies as well as of attempts.
  nlohmann::json steps = nlohmann::json::object();
  for (int chain = 0; chain < 4; ++chain) {
    for (int link = 0; link < 5; ++link) {
      const int index = chain * 5 + link;
      nlohmann::json step = {{"plugin", "test-ok"},
                             {"params", {{"value", index + 1}, {"sleep_ms", 120 + 40 * (index % 3)}}}};
      if (link > 0) step["inputs"] = {{"in", "s" + std::to_string(index - 1) + ".out"}};
      steps["s" + std::to_string(index)] = step;
    }
  }
  return {{"name", "chaos"}, {"steps", steps}};
}

TEST(CrashRecovery, KillNineAtTenRandomMomentsLosesNothingAndRepeatsNothing) {
  DaemonFixtureDirs dirs;
  const std::string completions = dirs.root() + "/completions.txt";
  setenv("RADFLOW_TEST_COMPLETIONS", completions.c_str(), 1);
  std::mt19937 rng(20261128);
  std::uniform_int_distribution<int> delay_ms(30, 450);

  int64_t run_id = 0;
  {
    Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "3"});
    auto [status, body] = daemon.post("/api/v1/runs", twenty_steps().dump());
    ASSERT_EQ(status, 201) << body.dump();
    run_id = body["id"];
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    daemon.kill_hard();
  }
  for (int kill = 1; kill < 10; ++kill) {
    Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "3"});
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    daemon.kill_hard();
  }
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "3"});
  auto run = daemon.wait_for_run(run_id, std::chrono::seconds(120));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  for (const auto& step : run["steps"]) EXPECT_EQ(step["status"], "succeeded") << step["name"];
  daemon.stop();
  unsetenv("RADFLOW_TEST_COMPLETIONS");

  std::map<std::string, int> count;
  std::ifstream in(completions);
  for (std::string line; std::getline(in, line);) count[line]++;
  EXPECT_EQ(count.size(), 20u);
  for (const auto& [line, n] : count) EXPECT_EQ(n, 1) << line << " completed " << n << " times";

  EXPECT_EQ(sql_text(dirs.database(), "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(sql_count(dirs.database(), "SELECT COUNT(*) FROM steps WHERE status = 'succeeded'"), 20);
  // The kills landed in the middle of work (lost attempts exist), yet exactly one
  // attempt per step succeeded; lost ones are kept as history.
  EXPECT_GT(sql_count(dirs.database(), "SELECT COUNT(*) FROM attempts WHERE status = 'lost'"), 0);
  EXPECT_EQ(sql_count(dirs.database(), "SELECT COUNT(*) FROM attempts WHERE status = 'succeeded'"), 20);
}

}  // namespace
}  // namespace radflow::test
