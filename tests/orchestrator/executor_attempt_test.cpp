// RunningAttempt against the real radflow-worker and the test-misbehave plugin: what
// reaches the AttemptSink and the AttemptOutcome, and what a worker process sees.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/utf8.h"
#include "orchestrator/executor/attempt.h"
#include "orchestrator/executor/attempt_recovery.h"
#include "orchestrator/executor/fork_servers.h"
#include "orchestrator/executor/process_tree.h"
#include "storage/artifact_store.h"

namespace radflow {
namespace {

namespace fs = std::filesystem;

class CollectingSink : public AttemptSink {
 public:
  void on_logs(std::vector<AttemptLogLine> lines) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& line : lines) logs_.push_back(std::move(line));
  }
  void on_progress(double, const std::string& message) override {
    std::lock_guard<std::mutex> lock(mutex_);
    progress_.push_back(message);
  }
  std::vector<AttemptLogLine> logs() {
    std::lock_guard<std::mutex> lock(mutex_);
    return logs_;
  }
  std::vector<AttemptLogLine> logs_of(const std::string& stream) {
    std::vector<AttemptLogLine> out;
    for (auto& line : logs()) {
      if (line.stream == stream) out.push_back(line);
    }
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<AttemptLogLine> logs_;
  std::vector<std::string> progress_;
};

// Dead: gone, or a zombie nobody has reaped yet.
bool dead_within(pid_t pid, std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  for (;;) {
    const bool gone = ::kill(pid, 0) != 0 && errno == ESRCH;
    auto stat = read_proc_stat(pid);
    if (gone || !stat || stat->state == 'Z') return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Every case runs twice: ranks started with fork and exec, and ranks forked by the
// plugin's fork server (fork_servers.h), which must be indistinguishable to them.
class ExecutorAttempt : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    set_fork_servers_enabled(GetParam());
    std::string pattern = (fs::temp_directory_path() / "rf-executor-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override {
    stop_fork_servers();
    set_fork_servers_enabled(false);
    for (pid_t pid : strays_) ::kill(pid, SIGKILL);
    fs::remove_all(root_);
  }

  AttemptLaunch launch(const std::string& mode) {
    AttemptLaunch l;
    l.worker_path = RADFLOW_WORKER_BIN;
    l.plugin_dir = RADFLOW_TEST_PLUGIN_DIR;
    l.plugin_path = l.plugin_dir + "/test-misbehave.so";
    l.plugin_name = "test-misbehave";
    l.params = {{"mode", mode}};
    l.attempt_dir = root_ + "/attempt-" + mode;
    l.grace_s = 0.5;
    return l;
  }

  AttemptOutcome run(AttemptLaunch l, CollectingSink* sink) {
    auto attempt = RunningAttempt::start(std::move(l), sink);
    EXPECT_TRUE(attempt.ok()) << attempt.status().to_string();
    if (!attempt.ok()) return {};
    return (*attempt)->wait();
  }

  // Runs one test-misbehave mode to its end; whatever the mode, every string that
  // came out must be valid UTF-8 of bounded size.
  AttemptOutcome run_valid(const std::string& mode, CollectingSink* sink) {
    AttemptOutcome outcome = run(launch(mode), sink);
    for (const auto& line : sink->logs()) {
      EXPECT_TRUE(is_valid_utf8(line.message)) << line.stream << ": " << line.message.substr(0, 200);
      EXPECT_LE(line.message.size(), 64u * 1024) << line.stream;
    }
    EXPECT_TRUE(is_valid_utf8(outcome.message));
    EXPECT_TRUE(is_valid_utf8(outcome.reason));
    return outcome;
  }

  // The pid the plugin logged as "grandchild pid N".
  pid_t grandchild_of(CollectingSink& sink) {
    for (const auto& line : sink.logs_of("plugin")) {
      if (line.message.rfind("grandchild pid ", 0) == 0) {
        const pid_t pid = std::stoi(line.message.substr(15));
        strays_.push_back(pid);
        return pid;
      }
    }
    ADD_FAILURE() << "the plugin logged no grandchild pid";
    return -1;
  }

  std::string root_;
  std::vector<pid_t> strays_;
};

TEST_P(ExecutorAttempt, IllFormedBytesAreRepairedBeforeTheSink) {
  CollectingSink sink;
  AttemptOutcome outcome = run_valid("invalid_utf8", &sink);
  EXPECT_EQ(outcome.reason, "plugin_failed");
  EXPECT_EQ(outcome.message, "failed with bad bytes \xEF\xBF\xBD\xEF\xBF\xBD");
  for (const std::string stream : {"stdout", "stderr"}) {
    int bad = 0, long_lines = 0;
    for (const auto& line : sink.logs_of(stream)) {
      if (line.message == "bad bytes \xEF\xBF\xBD\xEF\xBF\xBD here") ++bad;
      if (line.message.rfind("xxxx", 0) == 0) {
        ++long_lines;
        EXPECT_NE(line.message.find("[line truncated: 65541 bytes]"), std::string::npos);
      }
      // A tail of the long line must never come back as a line of its own.
      EXPECT_EQ(line.message.find("tail"), std::string::npos) << stream;
    }
    EXPECT_EQ(bad, 1) << stream;
    EXPECT_EQ(long_lines, 1) << stream;
  }
  bool bad_log = false;
  for (const auto& line : sink.logs_of("plugin")) {
    bad_log |= line.message == "log with bad bytes \xEF\xBF\xBD\xEF\xBF\xBD here";
  }
  EXPECT_TRUE(bad_log);
}

TEST_P(ExecutorAttempt, LongLinesAreTruncatedOnceAndHugeLogsStillArrive) {
  CollectingSink sink;
  AttemptOutcome outcome = run_valid("long_line", &sink);
  EXPECT_EQ(outcome.status, "succeeded") << outcome.message;
  const auto out = sink.logs_of("stdout");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].message.substr(0, 4), "aaaa");
  EXPECT_NE(out[0].message.find("[line truncated: 204800 bytes]"), std::string::npos);
  EXPECT_EQ(out[1].message, "after the long line");
  bool huge = false, after = false;
  for (const auto& line : sink.logs_of("plugin")) {
    if (line.message.rfind("huge log: bbbb", 0) == 0) {
      huge = true;
      EXPECT_NE(line.message.find("[truncated]"), std::string::npos);
    }
    after |= line.message == "after the huge log";
  }
  EXPECT_TRUE(huge);
  EXPECT_TRUE(after);
  for (const auto& line : sink.logs_of("radflow")) ADD_FAILURE() << line.message.substr(0, 200);
}

TEST_P(ExecutorAttempt, AHugeFailureMessageKeepsItsReason) {
  CollectingSink sink;
  AttemptOutcome outcome = run_valid("huge_failure", &sink);
  EXPECT_EQ(outcome.status, "failed");
  EXPECT_EQ(outcome.reason, "plugin_failed");
  EXPECT_EQ(outcome.message.substr(0, 18), "huge failure: cccc");
  EXPECT_LE(outcome.message.size(), 64u * 1024);
  EXPECT_NE(outcome.message.find("[truncated]"), std::string::npos);
}

TEST_P(ExecutorAttempt, ASetsidGrandchildDiesWithItsAttempt) {
  CollectingSink sink;
  AttemptOutcome outcome = run(launch("setsid_child"), &sink);
  EXPECT_EQ(outcome.status, "succeeded") << outcome.message;
  const pid_t grandchild = grandchild_of(sink);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(dead_within(grandchild, std::chrono::milliseconds(2000)));
}

TEST_P(ExecutorAttempt, CancelKillsASetsidGrandchildOfAPluginThatIgnoresIt) {
  CollectingSink sink;
  auto attempt = RunningAttempt::start(launch("setsid_child_then_hang"), &sink);
  ASSERT_TRUE(attempt.ok()) << attempt.status().to_string();
  pid_t grandchild = -1;
  for (int i = 0; i < 500 && grandchild <= 0; ++i) {
    for (const auto& line : sink.logs_of("plugin")) {
      if (line.message.rfind("grandchild pid ", 0) == 0) grandchild = std::stoi(line.message.substr(15));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(grandchild, 0);
  strays_.push_back(grandchild);
  (*attempt)->cancel("test cancels");
  AttemptOutcome outcome = (*attempt)->wait();
  EXPECT_EQ(outcome.status, "cancelled");
  EXPECT_TRUE(dead_within(grandchild, std::chrono::milliseconds(2000)));
}

TEST_P(ExecutorAttempt, AWorkerSeesFdsZeroToThreeItsFolderUmask077AndTheAllowlist) {
  ::setenv("AWS_SECRET_ACCESS_KEY", "leaked", 1);
  ::setenv("RADFLOW_TEST_CANARY", "kept", 1);
  ::setenv("HYGIENE_PASSTHROUGH", "kept", 1);
  // An fd another daemon thread opened without O_CLOEXEC must not reach the worker.
  const int null_fd = ::open("/dev/null", O_RDONLY);
  const int stray_fd = ::fcntl(null_fd, F_DUPFD, 20);  // no FD_CLOEXEC
  ::close(null_fd);
  ASSERT_GE(stray_fd, 20);
  AttemptLaunch l = launch("report_env");
  l.env_passthrough = {"HYGIENE_PASSTHROUGH"};
  const std::string attempt_dir = l.attempt_dir;
  CollectingSink sink;
  AttemptOutcome outcome = run(std::move(l), &sink);
  ::close(stray_fd);
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(outcome.status, "succeeded") << outcome.message;
  nlohmann::json report;
  for (const auto& line : sink.logs_of("plugin")) {
    if (line.message.rfind("report_env ", 0) == 0) report = nlohmann::json::parse(line.message.substr(11));
  }
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(fs::canonical(report["cwd"].get<std::string>()), fs::canonical(attempt_dir));
  EXPECT_EQ(report["umask"].get<int>(), 077);
  for (const auto& fd : report["fds"]) {
    EXPECT_LE(fd["fd"].get<int>(), 3) << fd.dump();
  }
  const auto& env = report["env"];
  EXPECT_FALSE(env.contains("AWS_SECRET_ACCESS_KEY"));
  EXPECT_EQ(env.value("RADFLOW_TEST_CANARY", ""), "kept");
  EXPECT_EQ(env.value("HYGIENE_PASSTHROUGH", ""), "kept");
  EXPECT_TRUE(env.contains("PATH"));
  EXPECT_EQ(env.value("RANK", ""), "0");
  EXPECT_EQ(report["pgid"], report["pid"]) << "a worker leads its own process group";
  EXPECT_EQ(report["blocked_signals"].get<int>(), 0);
  if (GetParam()) {
    EXPECT_NE(report["ppid"].get<int>(), static_cast<int>(::getpid()))
        << "the fork server, not this process, forked the worker";
  }
}

// Executors whose workers write elsewhere (Slurm) ask for hash_outputs: the worker
// hashes each output where it ran, with the artifact store's algorithm, and leaves the
// digests in its result file for the daemon to check what reaches it.
TEST_P(ExecutorAttempt, HashOutputsPutsTheWorkersDigestsInTheResultFile) {
  AttemptLaunch l;
  l.worker_path = RADFLOW_WORKER_BIN;
  l.plugin_dir = RADFLOW_TEST_PLUGIN_DIR;
  l.plugin_path = l.plugin_dir + "/test-ok.so";
  l.plugin_name = "test-ok";
  l.params = {{"value", 7}};
  l.attempt_dir = root_ + "/attempt-hashed";
  l.hash_outputs = true;
  CollectingSink sink;
  const AttemptOutcome outcome = run(l, &sink);
  ASSERT_EQ(outcome.status, "succeeded") << outcome.message;
  ASSERT_EQ(outcome.outputs.count("out"), 1u);

  const auto result = read_attempt_result(l.attempt_dir, 1);
  ASSERT_TRUE(result);
  auto expected = storage::digest_of(outcome.outputs.at("out"));
  ASSERT_TRUE(expected.ok()) << expected.status().to_string();
  ASSERT_EQ(result->output_digests.count("out"), 1u);
  EXPECT_EQ(result->output_digests.at("out"), expected->digest);

  // Without it (the local executor), nothing is hashed twice.
  l.hash_outputs = false;
  l.attempt_dir = root_ + "/attempt-plain";
  CollectingSink plain_sink;
  ASSERT_EQ(run(l, &plain_sink).status, "succeeded");
  const auto plain = read_attempt_result(l.attempt_dir, 1);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->output_digests.empty());
}

INSTANTIATE_TEST_SUITE_P(StartedBy, ExecutorAttempt, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "ForkServer" : "Exec";
                         });

}  // namespace
}  // namespace radflow
