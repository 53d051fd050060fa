// Workflows through a real radflowd whose steps run on the local Slurm
// (radflowd --executor slurm): results, metrics and outputs come back over the API,
// failures and timeouts carry their reasons, a cancel leaves no job in squeue, and a
// daemon killed (or stopped gracefully) while its job runs takes the job back when it
// restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/slurm/slurm_daemon_fixture.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class SlurmEndToEnd : public SlurmDaemonTest {
 protected:
  SlurmEndToEnd() : SlurmDaemonTest({"--executor", "slurm", "--slurm-poll-s", "0.2"}) {}

  int64_t submit(const json& step) {
    const json workflow = {{"name", "on-slurm"}, {"steps", {{"a", step}}}};
    auto [status, created] = daemon_->post("/api/v1/runs", workflow.dump());
    EXPECT_EQ(status, 201) << created.dump();
    return created.value("id", int64_t{0});
  }
  json step(int64_t run) { return Daemon::step_of(daemon_->get("/api/v1/runs/" + std::to_string(run)), "a"); }

  // Polls until the run's step has a running attempt whose Slurm job runs.
  bool wait_until_job_runs(int64_t run) {
    for (int i = 0; i < 600; ++i) {
      if (step(run).value("status", "") == "running" && slurm_->active_jobs().size() == 1 &&
          slurm_->wait_for_job_state(slurm_->active_jobs()[0], {"RUNNING"}, 0) == "RUNNING") {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
};

TEST_F(SlurmEndToEnd, StepSucceedsWithMetricsAndOutputsOverTheApi) {
  const int64_t run = submit({{"plugin", "test-ok"}, {"params", {{"value", 4}}}});
  const json finished = daemon_->wait_for_run(run, std::chrono::seconds(90));
  ASSERT_EQ(finished.value("status", ""), "succeeded") << finished.dump(2);
  const json a = Daemon::step_of(finished, "a");
  ASSERT_EQ(a["attempts"].size(), 1u);

  const std::string base = "/api/v1/runs/" + std::to_string(run) + "/steps/a";
  const json metrics = daemon_->get(base + "/metrics");
  ASSERT_TRUE(metrics["series"].contains("value")) << metrics.dump();
  EXPECT_EQ(metrics["series"]["value"].size(), 5u);
  EXPECT_EQ(metrics["series"]["value"][4][1], 16.0);
  const json outputs = daemon_->get(base + "/outputs");
  ASSERT_EQ(outputs.size(), 1u) << outputs.dump();
  EXPECT_EQ(outputs[0]["name"], "out");
  EXPECT_EQ(outputs[0]["digest"].get<std::string>().size(), 64u);
  auto content = daemon_->http().Get(
      ("/api/v1/artifacts/" + std::to_string(outputs[0]["artifact"].get<int64_t>()) + "/content")
          .c_str());
  ASSERT_TRUE(content);
  EXPECT_EQ(content->body, "4\n");
  // The worker hashed its output on the node; the daemon took it in only because its
  // own digest of what it read equals that one.
  std::string worker_digest;
  for (const auto& entry : fs::recursive_directory_iterator(dirs_.data_dir())) {
    if (entry.path().filename() != "rank-0.result.json") continue;
    const json result = json::parse(std::ifstream(entry.path()), nullptr, false);
    worker_digest = result.value("output_digests", json::object()).value("out", "");
  }
  EXPECT_EQ(worker_digest, outputs[0]["digest"].get<std::string>());

  // Log lines reach the database through the store's writer, a moment after the run's
  // end may already be visible.
  json logs;
  std::string all;
  for (int i = 0; i < 100 && all.find("test-ok starting") == std::string::npos; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    logs = daemon_->get(base + "/logs");
    all.clear();
    for (const auto& line : logs.value("logs", json::array())) {
      all += line["message"].get<std::string>() + "\n";
    }
  }
  EXPECT_NE(all.find("test-ok starting with value 4"), std::string::npos) << logs.dump(1);
  EXPECT_TRUE(slurm_->active_jobs().empty());
}

TEST_F(SlurmEndToEnd, FailureCarriesItsReason) {
  const int64_t run = submit({{"plugin", "test-fail"}});
  const json finished = daemon_->wait_for_run(run, std::chrono::seconds(90));
  ASSERT_EQ(finished.value("status", ""), "failed") << finished.dump(2);
  const json a = Daemon::step_of(finished, "a");
  EXPECT_EQ(a.value("reason", ""), "plugin_failed") << a.dump(2);
  EXPECT_NE(a["attempts"][0].value("message", "").find("disk quota exceeded in test"),
            std::string::npos)
      << a.dump(2);
}

TEST_F(SlurmEndToEnd, TimeoutStopsTheJob) {
  const int64_t run = submit({{"plugin", "test-hang"}, {"timeout_s", 2}});
  const json finished = daemon_->wait_for_run(run, std::chrono::seconds(90));
  ASSERT_EQ(finished.value("status", ""), "failed") << finished.dump(2);
  EXPECT_EQ(Daemon::step_of(finished, "a").value("reason", ""), "timeout") << finished.dump(2);
  EXPECT_TRUE(slurm_->active_jobs().empty());
}

TEST_F(SlurmEndToEnd, CancelLeavesNoJobInSqueue) {
  const int64_t run = submit({{"plugin", "test-hang"}});
  ASSERT_TRUE(wait_until_job_runs(run)) << step(run).dump(2);
  auto [status, body] = daemon_->post("/api/v1/runs/" + std::to_string(run) + "/cancel", "{}");
  ASSERT_LT(status, 300) << body.dump();
  const json finished = daemon_->wait_for_run(run, std::chrono::seconds(60));
  EXPECT_EQ(finished.value("status", ""), "cancelled") << finished.dump(2);
  EXPECT_TRUE(slurm_->active_jobs().empty());
}

// radflowd dies (SIGKILL) while the step's job runs; the job goes on in Slurm, and the
// restarted daemon adopts it, hears its events and records its success.
TEST_F(SlurmEndToEnd, RestartedDaemonAdoptsTheRunningJob) {
  const int64_t run = submit({{"plugin", "test-ok"}, {"params", {{"value", 7}, {"sleep_ms", 4000}}}});
  ASSERT_TRUE(wait_until_job_runs(run)) << step(run).dump(2);
  const std::string job = slurm_->active_jobs()[0];
  const int port = daemon_->port();
  daemon_->kill_hard();
  daemon_ = start_daemon(port);
  const json finished = daemon_->wait_for_run(run, std::chrono::seconds(90));
  ASSERT_EQ(finished.value("status", ""), "succeeded") << finished.dump(2);
  const json a = Daemon::step_of(finished, "a");
  EXPECT_EQ(a["attempts"].size(), 1u) << "the job was adopted, not run again: " << a.dump(2);
  const std::string base = "/api/v1/runs/" + std::to_string(run) + "/steps/a";
  const json outputs = daemon_->get(base + "/outputs");
  ASSERT_EQ(outputs.size(), 1u) << outputs.dump();
  // The metrics the plugin reported while no daemon listened were posted again.
  EXPECT_EQ(daemon_->get(base + "/metrics")["series"]["value"].size(), 5u);
  EXPECT_EQ(slurm_->wait_for_job_state(job, {"COMPLETED"}, 0), "COMPLETED");
}

// radflowd stopped gracefully (SIGTERM) while the step's job runs: the job is not
// cancelled but left to Slurm, and the restarted daemon adopts it as the same
// attempt. Only a cancel of the run or step scancels.
TEST_F(SlurmEndToEnd, GracefulStopLeavesTheJobToTheNextDaemon) {
  const int64_t run = submit({{"plugin", "test-ok"}, {"params", {{"value", 3}, {"sleep_ms", 8000}}}});
  ASSERT_TRUE(wait_until_job_runs(run)) << step(run).dump(2);
  const std::string job = slurm_->active_jobs()[0];
  const int port = daemon_->port();
  daemon_->stop();
  // Still Slurm's: running, or done by now, but never cancelled.
  const std::string state = slurm_->wait_for_job_state(job, {"RUNNING"}, 0);
  EXPECT_TRUE(state == "RUNNING" || state == "COMPLETING" || state == "COMPLETED")
      << "slurm job " << job << " is " << state << " after a graceful stop";
  EXPECT_EQ(sql_text(dirs_.database(), "SELECT status FROM attempts"), "running");

  daemon_ = start_daemon(port);
  const json finished = daemon_->wait_for_run(run, std::chrono::seconds(90));
  ASSERT_EQ(finished.value("status", ""), "succeeded") << finished.dump(2);
  const json a = Daemon::step_of(finished, "a");
  EXPECT_EQ(a["attempts"].size(), 1u) << "the job was adopted, not run again: " << a.dump(2);
  const json outputs = daemon_->get("/api/v1/runs/" + std::to_string(run) + "/steps/a/outputs");
  ASSERT_EQ(outputs.size(), 1u) << outputs.dump();
  EXPECT_EQ(slurm_->wait_for_job_state(job, {"COMPLETED"}, 30), "COMPLETED");
}

}  // namespace
}  // namespace radflow::test
