// Fork servers (executor/fork_servers.h): ranks are forked by a pre-started worker
// per plugin library, one server serves every attempt of its library, a library
// replaced on disk gets a new server, a server that died is replaced, and a
// library that starts threads when loaded is started with exec instead. What a
// forked worker sees is checked by executor_attempt_test.cpp, which runs every
// case both ways.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "orchestrator/executor/attempt.h"
#include "orchestrator/executor/fork_servers.h"

namespace radflow {
namespace {
namespace fs = std::filesystem;

class PluginLines : public AttemptSink {
 public:
  void on_logs(std::vector<AttemptLogLine> lines) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& line : lines) {
      if (line.stream == "plugin") lines_.push_back(line.message);
    }
  }
  // The first plugin line starting with `prefix`, without it; "" if none.
  std::string after(const std::string& prefix) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& line : lines_) {
      if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
    }
    return "";
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

class ForkServers : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rf-fork-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
    fs::create_directories(root_ + "/plugins");
    set_fork_servers_enabled(true);
  }
  void TearDown() override {
    stop_fork_servers();
    set_fork_servers_enabled(false);
    fs::remove_all(root_);
  }

  // A private copy of a test plugin, so the test may replace it.
  std::string copy_plugin(const std::string& name) {
    const std::string to = root_ + "/plugins/" + name + ".so";
    fs::copy_file(std::string(RADFLOW_TEST_PLUGIN_DIR) + "/" + name + ".so", to,
                  fs::copy_options::overwrite_existing);
    return to;
  }

  // Runs one attempt of the plugin at `path` (named `name`) and returns its outcome;
  // `sink` gets the plugin's lines.
  AttemptOutcome run(const std::string& path, const std::string& name, nlohmann::json params,
                     PluginLines* sink) {
    AttemptLaunch l;
    l.worker_path = RADFLOW_WORKER_BIN;
    l.plugin_dir = fs::path(path).parent_path().string();
    l.plugin_path = path;
    l.plugin_name = name;
    l.params = std::move(params);
    l.attempt_dir = root_ + "/attempt-" + std::to_string(++attempts_);
    l.grace_s = 0.5;
    auto attempt = RunningAttempt::start(std::move(l), sink);
    EXPECT_TRUE(attempt.ok()) << attempt.status().to_string();
    if (!attempt.ok()) return {};
    return (*attempt)->wait();
  }

  // The pid of the process that forked the worker of a report_env attempt.
  int parent_of_worker(const std::string& path) {
    PluginLines sink;
    AttemptOutcome outcome = run(path, "test-misbehave", {{"mode", "report_env"}}, &sink);
    EXPECT_EQ(outcome.status, "succeeded") << outcome.message;
    auto report = nlohmann::json::parse(sink.after("report_env "), nullptr, false);
    return report.is_object() ? report.value("ppid", -1) : -1;
  }

  std::string root_;
  int attempts_ = 0;
};

TEST_F(ForkServers, OneServerForksEveryAttemptOfItsLibrary) {
  const std::string plugin = copy_plugin("test-misbehave");
  const ForkServerStats before = fork_server_stats();
  const int first = parent_of_worker(plugin);
  const int second = parent_of_worker(plugin);
  EXPECT_GT(first, 0);
  EXPECT_NE(first, static_cast<int>(::getpid()));
  EXPECT_EQ(first, second) << "both attempts were forked by the same server";
  const ForkServerStats after = fork_server_stats();
  EXPECT_EQ(after.forked - before.forked, 2);
  EXPECT_EQ(after.execed - before.execed, 0);
  EXPECT_EQ(after.servers, 1);
}

TEST_F(ForkServers, EveryRankOfAMultiRankAttemptIsForked) {
  const std::string plugin = copy_plugin("test-ranks");
  const ForkServerStats before = fork_server_stats();
  AttemptLaunch l;
  l.worker_path = RADFLOW_WORKER_BIN;
  l.plugin_dir = root_ + "/plugins";
  l.plugin_path = plugin;
  l.plugin_name = "test-ranks";
  l.attempt_dir = root_ + "/ranks";
  l.ranks = 3;
  PluginLines sink;
  auto attempt = RunningAttempt::start(std::move(l), &sink);
  ASSERT_TRUE(attempt.ok()) << attempt.status().to_string();
  AttemptOutcome outcome = (*attempt)->wait();
  EXPECT_EQ(outcome.status, "succeeded") << outcome.reason << ": " << outcome.message;
  EXPECT_EQ(fork_server_stats().forked - before.forked, 3);
}

TEST_F(ForkServers, AReplacedLibraryGetsANewServer) {
  const std::string plugin = copy_plugin("test-misbehave");
  const int first = parent_of_worker(plugin);
  // Same bytes, new file: what an install over the old library looks like.
  copy_plugin("test-misbehave");
  struct timespec times[2] = {{0, UTIME_NOW}, {1, 0}};  // a different mtime for certain
  ASSERT_EQ(::utimensat(AT_FDCWD, plugin.c_str(), times, 0), 0);
  const int second = parent_of_worker(plugin);
  EXPECT_GT(second, 0);
  EXPECT_NE(first, second) << "a replaced library must not run in the old server";
}

TEST_F(ForkServers, AServerThatDiedIsReplaced) {
  const std::string plugin = copy_plugin("test-misbehave");
  const int first = parent_of_worker(plugin);
  ASSERT_GT(first, 0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  // The next attempt finds the server gone and forks through a new one.
  const int second = parent_of_worker(plugin);
  EXPECT_GT(second, 0);
  EXPECT_NE(second, first);
  EXPECT_NE(second, static_cast<int>(::getpid()));
}

TEST_F(ForkServers, ALibraryThatStartsThreadsWhenLoadedIsStartedWithExec) {
  const std::string plugin = copy_plugin("test-threads-at-load");
  const ForkServerStats before = fork_server_stats();
  PluginLines sink;
  AttemptOutcome outcome = run(plugin, "test-threads-at-load", nlohmann::json::object(), &sink);
  EXPECT_EQ(outcome.status, "succeeded") << outcome.message;
  EXPECT_EQ(sink.after("ppid "), std::to_string(::getpid()))
      << "the worker is this process's own child, started with exec";
  const ForkServerStats after = fork_server_stats();
  EXPECT_EQ(after.forked - before.forked, 0);
  EXPECT_EQ(after.execed - before.execed, 1);
}

}  // namespace
}  // namespace radflow
