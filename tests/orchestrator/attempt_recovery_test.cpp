#include "orchestrator/executor/attempt_recovery.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace radflow {
namespace {
namespace fs = std::filesystem;

class AttemptRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/radflow-recovery-XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write_result(int rank, const nlohmann::json& json) {
    std::ofstream(result_path(dir_, rank)) << json.dump();
  }
  std::string dir_;
};

TEST_F(AttemptRecoveryTest, NoResultWhileARankIsMissing) {
  write_result(0, {{"end", {{"status", "succeeded"}, {"reason", "ok"}}}, {"outputs", {{"out", "/x"}}}});
  EXPECT_FALSE(read_attempt_result(dir_, 2));
  auto one = read_attempt_result(dir_, 1);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, "succeeded");
  EXPECT_EQ(one->outputs.at("out"), "/x");
}

TEST_F(AttemptRecoveryTest, ReadsRankZerosOutputDigestsForItsOutputsOnly) {
  const std::string digest(64, 'a');
  write_result(0, {{"end", {{"status", "succeeded"}, {"reason", "ok"}}},
                   {"outputs", {{"out", "/x"}}},
                   {"output_digests", {{"out", digest}, {"not_an_output", digest}}}});
  auto result = read_attempt_result(dir_, 1);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->output_digests, (std::map<std::string, std::string>{{"out", digest}}));
}

TEST_F(AttemptRecoveryTest, AnyFailedRankFailsTheAttempt) {
  write_result(0, {{"end", {{"status", "succeeded"}, {"reason", "ok"}}}, {"outputs", {{"out", "/x"}}}});
  write_result(1, {{"end", {{"status", "failed"}, {"reason", "plugin_failed"}, {"message", "bad"}}}});
  auto result = read_attempt_result(dir_, 2);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, "failed");
  EXPECT_EQ(result->reason, "plugin_failed");
}

TEST_F(AttemptRecoveryTest, StopsALiveOrphanButNotAReusedPid) {
  pid_t child = fork();
  if (child == 0) {
    setpgid(0, 0);
    pause();
    _exit(0);
  }
  setpgid(child, child);
  record_workers(dir_, {child});
  EXPECT_EQ(stop_orphaned_workers(dir_), 1);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  // The same pid with another start time is someone else's process.
  std::ofstream(fs::path(dir_) / "workers.json")
      << nlohmann::json::array({{{"pid", getpid()}, {"start_ticks", 1}}}).dump();
  EXPECT_EQ(stop_orphaned_workers(dir_), 0);
}

}  // namespace
}  // namespace radflow
