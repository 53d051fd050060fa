// The pretrain plugin's recovery, multi-rank and baseline paths through the real
// radflow-worker: an attempt killed right after a checkpoint and resumed by the next
// attempt ends with exactly the encoder of an uninterrupted run; two worker processes
// with the torchrun environment train as one step and rank 0 writes the one encoder;
// iterations 0 writes the initialised teacher of the same architecture and seed.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plugins/ml/ssl/ssl_trainer.h"
#include "plugins/ml/torch/checkpoint.h"
#include "plugins/pretrain/pretrain_config.h"
#include "tests/ml/eval/pretrain_worker.h"

namespace radflow::ml {
namespace {
using namespace pretrain_test;  // NOLINT: test helpers

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Every parameter of `a` equals the same-named one of `b`, exactly.
void expect_same_parameters(torch::nn::Module& a, torch::nn::Module& b) {
  const auto pb = b.named_parameters();
  ASSERT_EQ(a.named_parameters().size(), pb.size());
  for (const auto& item : a.named_parameters()) {
    ASSERT_TRUE(pb.contains(item.key())) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
  }
}

class PretrainResumeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "rf-pretrain-resume-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    auto synth = run_attempt("synth-cxr", {{"seed", 2}, {"count", 12}, {"image_size", 64}}, json::object(),
                             dir_ + "/synth/attempt-1");
    dataset_ = output_of(synth, "dataset");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  void SetUp() override { ASSERT_FALSE(dataset_.empty()) << "synth-cxr failed"; }
  static json inputs() { return {{"dataset", dataset_}}; }

  static std::string dir_, dataset_;
};
std::string PretrainResumeTest::dir_, PretrainResumeTest::dataset_;

TEST_F(PretrainResumeTest, AKilledAndResumedRunEndsWithTheUninterruptedEncoder) {
  const json params = {{"iterations", 4}, {"batch_size", 3}, {"checkpoint_every", 2}, {"seed", 5}};
  auto straight = run_attempt("pretrain", params, inputs(), dir_ + "/straight/attempt-1");
  ASSERT_EQ(straight.back()["status"], "succeeded") << straight.back().dump();

  auto crashed = run_attempt("pretrain", params, inputs(), dir_ + "/resumed/attempt-1",
                             {{"RADFLOW_PRETRAIN_STOP_AFTER", "2"}});
  ASSERT_EQ(crashed.back()["status"], "failed");
  EXPECT_NE(end_message(crashed).find("stopped after the checkpoint at iteration 2"), std::string::npos);
  EXPECT_EQ(output_of(crashed, "encoder"), "");
  auto resumed = run_attempt("pretrain", params, inputs(), dir_ + "/resumed/attempt-2");
  ASSERT_EQ(resumed.back()["status"], "succeeded") << resumed.back().dump();
  EXPECT_TRUE(logged(resumed, "resumed at iteration 2"));
  EXPECT_EQ(points_of(resumed, "loss.total"), 2);

  const std::string a = output_of(straight, "encoder") + "/model.safetensors";
  const std::string b = output_of(resumed, "encoder") + "/model.safetensors";
  auto ma = load_vit(a), mb = load_vit(b);
  ASSERT_TRUE(ma.ok() && mb.ok());
  expect_same_parameters(**ma, **mb);
  EXPECT_TRUE(file_bytes(a) == file_bytes(b)) << "encoder files differ byte-wise";
}

// Starts `world` pretrain workers as the ranks of one attempt; `env_of(rank)` adds
// per-rank variables. Returns each rank's events once all have ended.
std::vector<std::vector<json>> run_ranks(const json& params, const json& inputs, const std::string& attempt,
                                         int world, const std::map<int, std::map<std::string, std::string>>& extra = {}) {
  const int port = free_loopback_port();
  std::vector<std::unique_ptr<test::WorkerProcess>> ranks;
  for (int rank = 0; rank < world; ++rank) {
    const std::string spec = write_spec("pretrain", params, inputs, attempt, rank, world);
    std::map<std::string, std::string> env = {
        {"RANK", std::to_string(rank)}, {"LOCAL_RANK", std::to_string(rank)},
        {"WORLD_SIZE", std::to_string(world)}, {"MASTER_ADDR", "127.0.0.1"},
        {"MASTER_PORT", std::to_string(port)}, {"RADFLOW_ATTEMPT_DIR", attempt}, {"RADFLOW_CPUS", "1"}};
    if (auto it = extra.find(rank); it != extra.end()) env.insert(it->second.begin(), it->second.end());
    ranks.push_back(std::make_unique<test::WorkerProcess>(std::vector<std::string>{"--attempt", spec}, env));
  }
  std::vector<std::vector<json>> events;
  for (auto& r : ranks) {
    r->read_all();
    r->wait();
    events.push_back(r->events());
  }
  return events;
}

TEST_F(PretrainResumeTest, TwoRanksTrainAsOneStepAndRankZeroWritesTheEncoder) {
  const json params = {{"iterations", 2}, {"batch_size", 2}, {"checkpoint_every", 1}, {"seed", 7}};
  auto events = run_ranks(params, inputs(), dir_ + "/ranks/attempt-1", 2);
  const auto& leader = events[0];
  const auto& follower = events[1];
  ASSERT_EQ(leader.back()["status"], "succeeded") << leader.back().dump();
  ASSERT_EQ(follower.back()["status"], "succeeded") << follower.back().dump();
  EXPECT_EQ(points_of(leader, "loss.total"), 2);
  EXPECT_EQ(points_of(follower, "loss.total"), 0);  // only rank 0 reports
  EXPECT_EQ(output_of(follower, "encoder"), "");
  const std::string encoder = output_of(leader, "encoder");
  ASSERT_FALSE(encoder.empty());
  EXPECT_TRUE(load_vit(encoder + "/model.safetensors").ok());
  const json state = json::parse(file_bytes(dir_ + "/ranks/resume/trainer.json"));
  EXPECT_EQ(state["iteration"], 2);
}

TEST_F(PretrainResumeTest, ARankThatDiesEndsTheOtherRanksAttemptWithAClearMessage) {
  const json params = {{"iterations", 3}, {"batch_size", 2}, {"checkpoint_every", 1}, {"seed", 7}};
  auto events = run_ranks(params, inputs(), dir_ + "/dying/attempt-1", 2,
                          {{1, {{"RADFLOW_PRETRAIN_STOP_AFTER", "1"}}}});
  ASSERT_EQ(events[1].back()["status"], "failed");
  ASSERT_EQ(events[0].back()["status"], "failed") << events[0].back().dump();
  EXPECT_NE(end_message(events[0]).find("rank 0 of 2: training failed at iteration 1: "), std::string::npos)
      << events[0].back().dump();
}

TEST_F(PretrainResumeTest, ZeroIterationsWritesTheInitialisedTeacher) {
  const json params = {{"iterations", 0}, {"seed", 11}, {"depth", 2}};
  auto events = run_attempt("pretrain", params, inputs(), dir_ + "/zero/attempt-1");
  ASSERT_EQ(events.back()["status"], "succeeded") << events.back().dump();
  EXPECT_EQ(points_of(events, "loss.total"), 0);
  auto written = load_vit(output_of(events, "encoder") + "/model.safetensors");
  ASSERT_TRUE(written.ok()) << written.status().to_string();

  // The same params build the same trainer here: its untrained teacher is the encoder.
  auto config = plugins::pretrain::pretrain_config(params, 1);
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  ssl::SslTrainer trainer(config->vit, config->head, config->head, config->schedule, config->options);
  expect_same_parameters(*trainer.teacher()->backbone, **written);
  expect_same_parameters(*trainer.student()->backbone, **written);  // teacher = student init
}

}  // namespace
}  // namespace radflow::ml
