// A three-step DAG submitted over HTTP runs to success; its metrics, logs and
// outputs read back over the API and straight from SQLite, and step A's output
// reaches step B as a file.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

const char* kThreeSteps = R"({
  "name": "three-steps",
  "params": {"seed": 3},
  "steps": {
    "data": {"plugin": "numbers", "params": {"seed": "${params.seed}", "count": 500}},
    "fit": {"plugin": "fit-line", "params": {"epochs": 40}, "inputs": {"table": "data.table"}},
    "evaluate": {"plugin": "evaluate-line",
                 "inputs": {"table": "data.table", "model": "fit.model"}}
  }
})";

TEST(EndToEnd, ThreeStepDagRunsToSuccess) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());

  auto [status, created] = daemon.post("/api/v1/runs", kThreeSteps);
  ASSERT_EQ(status, 201) << created.dump();
  const int64_t run_id = created["id"];
  nlohmann::json run = daemon.wait_for_run(run_id, std::chrono::seconds(60));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  ASSERT_EQ(run["steps"].size(), 3u);
  for (const auto& step : run["steps"]) {
    EXPECT_EQ(step["status"], "succeeded") << step.dump();
    EXPECT_EQ(step["attempts"].size(), 1u);
  }

  // Metrics: one loss point per epoch.
  auto metrics = daemon.get("/api/v1/runs/" + std::to_string(run_id) + "/steps/fit/metrics");
  ASSERT_TRUE(metrics["series"].contains("loss"));
  EXPECT_EQ(metrics["series"]["loss"].size(), 40u);
  EXPECT_EQ(metrics["series"]["loss"][0][0], 0);
  EXPECT_LT(metrics["series"]["loss"][39][1].get<double>(),
            metrics["series"]["loss"][0][1].get<double>());
  auto sampled =
      daemon.get("/api/v1/runs/" + std::to_string(run_id) + "/steps/fit/metrics?max_points=5");
  EXPECT_EQ(sampled["series"]["loss"].size(), 5u);
  EXPECT_EQ(sampled["series"]["loss"][4][0], 39);

  // Logs: the plugin's own lines and radflow's attempt lines.
  auto logs = daemon.get("/api/v1/runs/" + std::to_string(run_id) + "/steps/fit/logs");
  std::string all;
  for (const auto& line : logs["logs"]) all += line["message"].get<std::string>() + "\n";
  EXPECT_NE(all.find("attempt 1 started"), std::string::npos) << all;
  EXPECT_NE(all.find("slope"), std::string::npos) << all;

  // Outputs: evaluate's report, downloadable, computed from data's table (a file
  // handed from step to step): it counted all 500 rows.
  auto outputs = daemon.get("/api/v1/runs/" + std::to_string(run_id) + "/steps/evaluate/outputs");
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0]["name"], "report");
  EXPECT_EQ(outputs[0]["digest"].get<std::string>().size(), 64u);
  const std::string artifact = std::to_string(outputs[0]["artifact"].get<int64_t>());
  auto content = daemon.http().Get(("/api/v1/artifacts/" + artifact + "/content").c_str());
  ASSERT_TRUE(content);
  ASSERT_EQ(content->status, 200);
  EXPECT_EQ(content->body.size(), outputs[0]["size_bytes"].get<size_t>());
  auto report = nlohmann::json::parse(content->body);
  EXPECT_EQ(report["rows"], 500);
  EXPECT_GT(report["r2"].get<double>(), 0.9);

  // Lineage: evaluate's attempt read data's table and fit's model.
  auto meta = daemon.get("/api/v1/artifacts/" + artifact);
  ASSERT_EQ(meta["inputs"].size(), 2u);
  EXPECT_EQ(meta["inputs"][0]["input"], "model");
  EXPECT_EQ(meta["inputs"][1]["input"], "table");
  auto table = daemon.get("/api/v1/runs/" + std::to_string(run_id) + "/steps/data/outputs");
  EXPECT_EQ(meta["inputs"][1]["digest"], table[0]["digest"]);

  // The same facts, straight from SQLite.
  const std::string db = dirs.database();
  EXPECT_EQ(sql_count(db, "SELECT COUNT(*) FROM steps WHERE status = 'succeeded'"), 3);
  EXPECT_EQ(sql_count(db, "SELECT COUNT(*) FROM metrics m JOIN steps s ON s.id = m.step_id "
                          "WHERE s.name = 'fit' AND m.name = 'loss'"),
            40);
  EXPECT_GT(sql_count(db, "SELECT COUNT(*) FROM logs"), 5);
  EXPECT_EQ(sql_count(db, "SELECT COUNT(*) FROM attempt_inputs"), 3);
  EXPECT_EQ(sql_count(db, "SELECT COUNT(*) FROM artifacts"), 3);
}

TEST(EndToEnd, UnknownRunAndStepAre404WithErrorShape) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  auto res = daemon.http().Get("/api/v1/runs/424242");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  auto body = nlohmann::json::parse(res->body);
  EXPECT_EQ(body["errors"][0]["code"], "not_found");
  res = daemon.http().Get("/api/v1/runs/abc");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
}

}  // namespace
}  // namespace radflow::test

namespace radflow::test {
namespace {

TEST(EndToEnd, RunsListShowsWhoSubmittedAndTags) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  auto res = daemon.http().Post(
      "/api/v1/runs", httplib::Headers{{"X-Radflow-User", "ada"}},
      R"({"name": "tagged", "tags": ["ablation", "518px"], "steps": {"a": {"plugin": "test-ok"}}})",
      "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  auto list = daemon.get("/api/v1/runs");
  ASSERT_EQ(list["runs"].size(), 1u);
  EXPECT_EQ(list["runs"][0]["submitted_by"], "ada");
  EXPECT_EQ(list["runs"][0]["tags"], nlohmann::json::array({"ablation", "518px"}));
  auto found = daemon.get("/api/v1/dashboard/runs?q=ablation");
  EXPECT_EQ(found["runs"].size(), 1u);
  auto none = daemon.get("/api/v1/dashboard/runs?q=nothing-like-it");
  EXPECT_EQ(none["runs"].size(), 0u);
}

// test-ok.so, moved out of the plugin folder before the daemon starts and copied
// back while it runs.
struct HeldPlugin {
  explicit HeldPlugin(const DaemonFixtureDirs& dirs)
      : library(dirs.plugin_dir() + "/test-ok.so"), held(dirs.root() + "/test-ok.so") {
    std::filesystem::rename(library, held);
  }
  void put_back() const { std::filesystem::copy_file(held, library); }
  const std::string library, held;
};

// The plugin folder is live: a library added to a running daemon's folder is found
// (POST /api/v1/plugins/reload, as `radflow plugins reload` sends) and runs, and a
// removed one is gone, without a restart.
TEST(EndToEnd, PluginAddedToARunningDaemonIsFoundAndRunsWithoutRestart) {
  DaemonFixtureDirs dirs;
  const HeldPlugin test_ok(dirs);
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  auto listed = [&](const nlohmann::json& reply) {
    for (const auto& p : reply["plugins"]) {
      if (p["name"] == "test-ok") return true;
    }
    return false;
  };
  const char* workflow = R"({"name": "late", "steps": {"a": {"plugin": "test-ok"}}})";
  EXPECT_FALSE(listed(daemon.get("/api/v1/plugins")));
  EXPECT_EQ(daemon.post("/api/v1/runs", workflow).first, 400);

  test_ok.put_back();
  auto [status, reloaded] = daemon.post("/api/v1/plugins/reload", "{}");
  ASSERT_EQ(status, 200) << reloaded.dump();
  EXPECT_TRUE(listed(reloaded)) << reloaded.dump();
  auto [created_status, created] = daemon.post("/api/v1/runs", workflow);
  ASSERT_EQ(created_status, 201) << created.dump();
  nlohmann::json run = daemon.wait_for_run(created["id"], std::chrono::seconds(60));
  EXPECT_EQ(run["status"], "succeeded") << run.dump(2);

  std::filesystem::remove(test_ok.library);
  auto [removed_status, removed] = daemon.post("/api/v1/plugins/reload", "{}");
  ASSERT_EQ(removed_status, 200);
  EXPECT_FALSE(listed(removed)) << removed.dump();
}

// SIGHUP makes radflowd rescan its plugin folder (the log line counts what it found).
TEST(EndToEnd, SighupRescansThePluginFolder) {
  DaemonFixtureDirs dirs;
  const HeldPlugin test_ok(dirs);
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  const size_t before = daemon.get("/api/v1/plugins")["plugins"].size();
  test_ok.put_back();
  pid_t pid = 0;
  std::ifstream(dirs.data_dir() + "/radflowd.pid") >> pid;
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  const std::string expected = "SIGHUP: rescanned the plugin folder " +
                               std::filesystem::canonical(dirs.plugin_dir()).string() + ": " +
                               std::to_string(before + 1) + " plugin(s)";
  std::string log;
  for (int i = 0; i < 200 && log.find(expected) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(dirs.data_dir() + "/radflowd.log");
    log.assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_NE(log.find(expected), std::string::npos) << log;
  EXPECT_TRUE(daemon.running()) << "SIGHUP must not stop the daemon";
}

}  // namespace
}  // namespace radflow::test
