// SlurmAttempt's decisions from what the poller sees (slurm_attempt.h), driven
// with squeue lines and time points the test makes: no Slurm, no sleeps. A job
// that leaves squeue, or stays COMPLETING, must still end its attempt.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "orchestrator/executor/slurm_attempt.h"
#include "tests/slurm/recording_sink.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class SlurmAttemptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/radflow-slurm-attempt-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<SlurmAttempt> attempt(RecordingSink* sink, int ranks = 1) {
    AttemptLaunch launch;
    launch.attempt_dir = dir_;
    launch.ranks = ranks;
    launch.attempt_id = 9;
    // Commands are only run to stop a job, which none of these tests asks for.
    auto commands = std::make_shared<SlurmCommands>(std::map<std::string, std::string>{}, 5);
    return std::make_unique<SlurmAttempt>(launch, sink, SlurmJobRecord{"42", "rfa_t"}, commands);
  }
  void write_result(int rank, const std::string& status) {
    std::ofstream(dir_ + "/rank-" + std::to_string(rank) + ".result.json")
        << nlohmann::json{{"end", {{"status", status}, {"reason", status == "succeeded" ? "ok" : "plugin_failed"}}}}
               .dump();
  }
  static SlurmJobState job(const std::string& state) { return {"42", state, "None", "node1"}; }

  std::string dir_;
};

TEST_F(SlurmAttemptTest, AJobGoneFromSqueueWithoutResultsIsLost) {
  RecordingSink sink;
  auto a = attempt(&sink);
  const auto t0 = Clock::now();
  const SlurmJobState running = job("RUNNING");
  a->observe(&running, t0);
  EXPECT_FALSE(a->done());
  a->observe(nullptr, t0 + std::chrono::seconds(1));
  ASSERT_TRUE(a->done());
  const AttemptOutcome outcome = a->wait();
  EXPECT_EQ(outcome.status, "failed");
  EXPECT_EQ(outcome.reason, "lost");
  EXPECT_NE(outcome.message.find("gone from Slurm"), std::string::npos) << outcome.message;
  a->wait_until_ended();
  EXPECT_TRUE(sink.finished());
}

TEST_F(SlurmAttemptTest, AJobGoneFromSqueueAfterEveryRanksResultEndsWithThem) {
  RecordingSink sink;
  auto a = attempt(&sink, 2);
  write_result(0, "succeeded");
  write_result(1, "succeeded");
  a->observe(nullptr, Clock::now());
  ASSERT_TRUE(a->done());
  EXPECT_EQ(a->wait().status, "succeeded");
}

TEST_F(SlurmAttemptTest, AJobStuckCompletingEndsAfterTheGrace) {
  RecordingSink sink;
  auto a = attempt(&sink, 2);
  write_result(0, "succeeded");
  write_result(1, "failed");
  const auto t0 = Clock::now();
  const SlurmJobState running = job("RUNNING"), completing = job("COMPLETING");
  a->observe(&running, t0);
  a->observe(&completing, t0 + std::chrono::seconds(5));
  const auto grace = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(kCompletingGraceS));
  a->observe(&completing, t0 + std::chrono::seconds(5) + grace - std::chrono::seconds(1));
  EXPECT_FALSE(a->done()) << "a short COMPLETING is Slurm cleaning up: wait";
  a->observe(&completing, t0 + std::chrono::seconds(5) + grace);
  ASSERT_TRUE(a->done());
  const AttemptOutcome outcome = a->wait();
  EXPECT_EQ(outcome.status, "failed");
  EXPECT_EQ(outcome.reason, "plugin_failed");  // rank 1's, from its result file
}

TEST_F(SlurmAttemptTest, ADetachedAttemptTellsTheSinkNothingMore) {
  RecordingSink sink;
  auto a = attempt(&sink);
  const SlurmJobState running = job("RUNNING");
  a->observe(&running, Clock::now());
  ASSERT_TRUE(a->detach());
  EXPECT_TRUE(a->done());
  a->wait_until_ended();  // returns: nothing to wait for
  EXPECT_FALSE(sink.finished());
  EXPECT_EQ(a->deliver("rfa_t", 0, "{\"type\":\"log\",\"level\":\"info\",\"message\":\"x\"}\n").code(),
            "invalid_token");
  a->observe(nullptr, Clock::now());  // the poller's last look changes nothing
  EXPECT_FALSE(sink.finished());
  EXPECT_FALSE(a->detach());
}

}  // namespace
}  // namespace radflow::test
