// SlurmExecutor through the Executor interface, against the local Slurm: each
// attempt a real batch job whose radflow-worker tasks post their events to a small
// HTTP server standing in for the daemon's events route.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "orchestrator/executor/slurm_executor.h"
#include "orchestrator/executor/slurm_job.h"
#include "tests/slurm/local_slurm.h"
#include "tests/slurm/recording_sink.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;

// POST /api/v1/attempts/{id}/events, as the API serves it, onto whichever executor
// is current (the recovery test swaps it).
class EventsServer {
 public:
  EventsServer() {
    server_.Post(R"(/api/v1/attempts/(\d+)/events)", [this](const httplib::Request& req,
                                                            httplib::Response& res) {
      const std::string auth = req.get_header_value("Authorization");
      const std::string token = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
      auto body = nlohmann::json::parse(req.body, nullptr, false);
      std::lock_guard<std::mutex> lock(mutex_);
      if (executor_ == nullptr || !body.is_object()) {
        res.status = 401;
        return;
      }
      Status delivered = executor_->deliver_events(std::stoll(req.matches[1].str()), token,
                                                   body.value("rank", -1),
                                                   body.value("lines", std::string()));
      res.status = delivered.ok() ? 204 : 401;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~EventsServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void route_to(RemoteAttemptEvents* executor) {
    std::lock_guard<std::mutex> lock(mutex_);
    executor_ = executor;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  RemoteAttemptEvents* executor_ = nullptr;
};

class SlurmExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    slurm_ = LocalSlurm::start(&why_not);
    if (!slurm_) GTEST_SKIP() << "local Slurm unavailable: " << why_not;
    root_ = slurm_->dir() + "/radflow";
    fs::create_directories(root_);
    executor_ = make_executor();
    events_.route_to(executor_.get());
  }
  void TearDown() override { events_.route_to(nullptr); }

  std::unique_ptr<SlurmExecutor> make_executor() {
    SlurmOptions options;
    options.report_url = events_.url();
    options.command_env = slurm_->env();
    options.poll_interval_s = 0.2;
    return std::make_unique<SlurmExecutor>(options);
  }

  AttemptLaunch launch(const std::string& plugin, nlohmann::json params, int64_t attempt_id) {
    AttemptLaunch l;
    l.worker_path = RADFLOW_WORKER_BIN;
    l.plugin_dir = RADFLOW_TEST_PLUGIN_DIR;
    l.plugin_path = l.plugin_dir + "/" + plugin + ".so";
    l.plugin_name = plugin;
    l.params = std::move(params);
    l.run_id = 1;
    l.step_name = plugin;
    l.attempt_id = attempt_id;
    l.attempt_dir = root_ + "/run-1/" + plugin + "/attempt-" + std::to_string(attempt_id);
    return l;
  }

  std::unique_ptr<LocalSlurm> slurm_;
  std::string root_;
  EventsServer events_;
  std::unique_ptr<SlurmExecutor> executor_;
};

TEST_F(SlurmExecutorTest, SuccessBringsOutputsMetricsAndLogsBack) {
  RecordingSink sink;
  auto handle = executor_->start(launch("test-ok", {{"value", 3}}, 11), &sink);
  ASSERT_TRUE(handle.ok()) << handle.status().message();
  const AttemptOutcome outcome = (*handle)->wait();
  EXPECT_EQ(outcome.status, "succeeded") << outcome.reason << ": " << outcome.message;
  ASSERT_EQ(outcome.outputs.count("out"), 1u);
  std::ifstream out(outcome.outputs.at("out"));
  int value = 0;
  out >> value;
  EXPECT_EQ(value, 3);
  EXPECT_EQ(sink.metric_values("value"), (std::vector<double>{0, 3, 6, 9, 12}));
  EXPECT_TRUE(sink.has_log("test-ok starting with value 3"));
  EXPECT_NE((*handle)->where().find("slurm job "), std::string::npos);
  EXPECT_TRUE((*handle)->pids().empty());
  handle->reset();  // returns once the sink has heard the end
  EXPECT_TRUE(sink.finished());
}

TEST_F(SlurmExecutorTest, FailureCarriesThePluginsReason) {
  RecordingSink sink;
  auto handle = executor_->start(launch("test-fail", {}, 12), &sink);
  ASSERT_TRUE(handle.ok()) << handle.status().message();
  const AttemptOutcome outcome = (*handle)->wait();
  EXPECT_EQ(outcome.status, "failed");
  EXPECT_EQ(outcome.reason, "plugin_failed");
  EXPECT_NE(outcome.message.find("disk quota exceeded in test"), std::string::npos)
      << outcome.message;
  EXPECT_TRUE(sink.has_log("about to fail"));
}

TEST_F(SlurmExecutorTest, TimeoutStopsTheJob) {
  RecordingSink sink;
  AttemptLaunch l = launch("test-hang", {}, 13);
  l.timeout_s = 2;
  auto handle = executor_->start(l, &sink);
  ASSERT_TRUE(handle.ok()) << handle.status().message();
  const AttemptOutcome outcome = (*handle)->wait();
  EXPECT_EQ(outcome.status, "failed");
  EXPECT_EQ(outcome.reason, "timeout") << outcome.message;
  EXPECT_TRUE(slurm_->active_jobs().empty());
}

TEST_F(SlurmExecutorTest, CancelLeavesNoJobInTheQueue) {
  RecordingSink sink;
  auto handle = executor_->start(launch("test-hang", {}, 14), &sink);
  ASSERT_TRUE(handle.ok()) << handle.status().message();
  ASSERT_TRUE(sink.wait_for_log("hanging", std::chrono::seconds(30)));
  EXPECT_EQ(slurm_->active_jobs().size(), 1u);
  (*handle)->cancel("cancelled by the test");
  const AttemptOutcome outcome = (*handle)->wait();
  EXPECT_EQ(outcome.status, "cancelled");
  EXPECT_EQ(outcome.message, "cancelled by the test");
  EXPECT_TRUE(slurm_->active_jobs().empty());
}

// The step's resources reach Slurm: the job is allotted the CPUs and memory asked.
TEST_F(SlurmExecutorTest, TheJobGetsTheStepsCpusAndMemory) {
  RecordingSink sink;
  AttemptLaunch l = launch("test-hang", {}, 18);
  l.cpus = 2;  // the local node has this machine's CPUs, at least 2 here
  l.memory_gb = 0.5;
  auto handle = executor_->start(l, &sink);
  ASSERT_TRUE(handle.ok()) << handle.status().message();
  ASSERT_TRUE(sink.wait_for_log("hanging", std::chrono::seconds(30)));
  const auto jobs = slurm_->active_jobs();
  ASSERT_EQ(jobs.size(), 1u);
  const auto shown = slurm_->run({"scontrol", "show", "job", jobs[0]});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("NumCPUs=2 "), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("MinMemoryNode=512M"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("cpu=2,mem=512M"), std::string::npos) << shown.out;
  (*handle)->cancel("seen");
  EXPECT_EQ((*handle)->wait().status, "cancelled");
}

TEST_F(SlurmExecutorTest, StepOptionsThatSlurmRefusesFailTheStart) {
  RecordingSink sink;
  AttemptLaunch l = launch("test-ok", {}, 15);
  l.executor_options = {{"partition", "no-such-partition"}};
  auto refused = executor_->start(l, &sink);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), "slurm_submit_failed");
  EXPECT_NE(refused.status().message().find("partition"), std::string::npos);
  l.executor_options = {{"partitoin", "debug"}};
  auto misspelt = executor_->start(l, &sink);
  ASSERT_FALSE(misspelt.ok());
  EXPECT_EQ(misspelt.status().code(), "invalid_slurm_options");
}

// A daemon that dies while its job runs: a forked child submits and exits without
// any destructor; a new executor recovers the attempt from its folder, adopts the
// job and hears its events (the worker retries the posts the dead daemon missed).
TEST_F(SlurmExecutorTest, RecoverAdoptsAJobAnEarlierExecutorStarted) {
  const AttemptLaunch l = launch("test-ok", {{"value", 5}, {"sleep_ms", 3000}}, 16);
  events_.route_to(nullptr);
  executor_.reset();
  const pid_t child = fork();
  if (child == 0) {
    auto crashed = make_executor();
    auto handle = crashed->start(l, nullptr);
    _exit(handle.ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(slurm_->active_jobs().size(), 1u);

  executor_ = make_executor();
  events_.route_to(executor_.get());
  RecordingSink sink;
  RecoveredAttempt recovered = executor_->recover(l, &sink);
  ASSERT_EQ(recovered.state, RecoveredAttempt::State::kAdopted);
  const AttemptOutcome outcome = recovered.handle->wait();
  EXPECT_EQ(outcome.status, "succeeded") << outcome.reason << ": " << outcome.message;
  EXPECT_EQ(outcome.outputs.count("out"), 1u);
  EXPECT_EQ(sink.metric_values("value").size(), 5u);

  // Once it has ended, the same folder is a finished attempt, not a job to adopt.
  RecoveredAttempt again = executor_->recover(l, nullptr);
  EXPECT_EQ(again.state, RecoveredAttempt::State::kFinished);
  EXPECT_EQ(again.outcome.status, "succeeded");
}

TEST_F(SlurmExecutorTest, RecoverWithoutAJobRecordIsGone) {
  const AttemptLaunch l = launch("test-ok", {}, 17);
  fs::create_directories(l.attempt_dir);
  EXPECT_EQ(executor_->recover(l, nullptr).state, RecoveredAttempt::State::kGone);
}

}  // namespace
}  // namespace radflow::test
