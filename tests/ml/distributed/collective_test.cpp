#include "plugins/ml/ssl/process_group_collective.h"

#include <chrono>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "plugins/ml/ssl/teacher_centering.h"
#include "tests/ml/distributed/rank_inputs.h"
#include "tests/ml/distributed/run_ranks.h"

namespace radflow::ml::ssl::testing {
namespace {

TEST(ProcessGroupCollective, GlooAllReduceSumsMaxesAndAveragesAcrossTwoRanks) {
  const RankRun run = run_ranks("allreduce");
  ASSERT_EQ(run.exit_codes, (std::vector<int>{0, 0}));
  for (int r = 0; r < 2; ++r) {
    const auto& out = run.outputs[static_cast<size_t>(r)];
    ASSERT_EQ(out.size(), 6u) << "rank " << r;
    EXPECT_TRUE(torch::equal(out[0], torch::full({3}, 3.0f)));                // 1 + 2
    EXPECT_TRUE(torch::equal(out[1], torch::tensor({int64_t{21}})));          // 10 + 11, int64
    EXPECT_TRUE(torch::equal(out[2], torch::tensor({1.0, 0.0}, torch::kDouble)));  // max(0, 1), max(0, -1)
    // The transposed view was reduced in place: its base holds the sum (1 + 2) x arange.
    EXPECT_TRUE(torch::equal(out[3], torch::arange(6, torch::kFloat).reshape({2, 3}) * 3));
    EXPECT_TRUE(torch::equal(out[4], torch::full({4}, 0.5f)));     // mean of 0 and 1
    EXPECT_TRUE(torch::equal(out[5], torch::full({2, 2}, 1.0f)));  // mean of 0 and 2
  }
}

TEST(ProcessGroupCollective, CentersAndSinkhornOverRanksMatchOneProcess) {
  const RankRun run = run_ranks("centers");
  ASSERT_EQ(run.exit_codes, (std::vector<int>{0, 0}));
  const torch::Tensor l0 = center_logits(0), l1 = center_logits(1);
  const torch::Tensor all = torch::cat({l0, l1});
  // DINO center: every row of every rank counts once, as one process on all rows.
  TeacherCentering single(kCenterDim);
  single.update(all);
  // iBOT center (DINOv2): the mean of the two ranks' means (3 and 5 rows: not the same).
  const torch::Tensor mean_of_means = 0.1 * (l0.mean(0, true) + l1.mean(0, true)) / 2;
  ASSERT_GT(max_abs_diff(mean_of_means, single.center()), 1e-4);
  const torch::Tensor sk = sinkhorn_knopp(all, 0.05, 3);
  for (int r = 0; r < 2; ++r) {
    const auto& out = run.outputs[static_cast<size_t>(r)];
    ASSERT_EQ(out.size(), 4u);
    EXPECT_LT(max_abs_diff(out[0], single.center()), 1e-6);
    EXPECT_LT(max_abs_diff(out[1], mean_of_means), 1e-6);
    // A rank without rows joins the reduction and does not count: rank 0's mean only.
    EXPECT_LT(max_abs_diff(out[2], 0.1 * l0.mean(0, true)), 1e-6);
  }
  // Each rank's Sinkhorn rows are its slice of the one-process result.
  EXPECT_LT(max_abs_diff(run.outputs[0][3], sk.narrow(0, 0, l0.size(0))), 1e-5);
  EXPECT_LT(max_abs_diff(run.outputs[1][3], sk.narrow(0, l0.size(0), l1.size(0))), 1e-5);
}

TEST(ProcessGroupCollective, DeadPeerMakesTheNextCollectiveThrowNotHang) {
  const RankRun run = run_ranks("peer_dies");
  EXPECT_EQ(run.exit_codes, (std::vector<int>{0, 0}));  // rank 0 returns 0 only on an exception
}

TEST(ProcessGroupCollective, RendezvousWithoutServerFailsAfterTimeout) {
  ProcessGroupConfig config;
  config.rank = 1;
  config.world_size = 2;
  config.master_port = free_loopback_port();  // nobody listens
  config.timeout_ms = 500;
  const auto made = make_process_group_collective(config);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().err().code, "rendezvous_failed");
}

TEST(ProcessGroupCollective, WorldOfOneIsLocal) {
  const auto made = make_process_group_collective(ProcessGroupConfig{});
  ASSERT_TRUE(made.ok());
  EXPECT_EQ(made.value()->world_size(), 1);
  torch::Tensor t = torch::ones({2});
  made.value()->all_reduce_sum(t);
  EXPECT_TRUE(torch::equal(t, torch::ones({2})));
  ProcessGroupConfig bad;
  bad.rank = 2;
  bad.world_size = 2;
  EXPECT_EQ(make_process_group_collective(bad).status().err().code, "invalid_argument");
}

TEST(ProcessGroupConfig, ReadsTheExecutorsEnvironment) {
  auto c = process_group_config_from_env({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "1"},
                                          {"MASTER_ADDR", "10.0.0.5"}, {"MASTER_PORT", "29511"}});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c.value().rank, 1);
  EXPECT_EQ(c.value().world_size, 2);
  EXPECT_EQ(c.value().local_rank, 1);
  EXPECT_EQ(c.value().master_addr, "10.0.0.5");
  EXPECT_EQ(c.value().master_port, 29511);
  // No WORLD_SIZE: one process, nothing else required.
  auto single = process_group_config_from_env({});
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single.value().world_size, 1);
  EXPECT_EQ(single.value().rank, 0);
  // What the scheduler sets for a one-rank step: port 0 means "no rendezvous".
  auto one_rank = process_group_config_from_env({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"LOCAL_RANK", "0"},
                                                 {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "0"}});
  ASSERT_TRUE(one_rank.ok()) << one_rank.status().to_string();
  EXPECT_EQ(one_rank.value().world_size, 1);
}

TEST(ProcessGroupConfig, RejectsMissingOrBadValues) {
  auto code = [](const std::map<std::string, std::string>& env) {
    const auto c = process_group_config_from_env(env);
    return c.ok() ? std::string("ok") : c.status().err().code;
  };
  EXPECT_EQ(code({{"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}), "invalid_env");  // no RANK
  EXPECT_EQ(code({{"WORLD_SIZE", "2"}, {"RANK", "1"}}), "invalid_env");         // no MASTER_PORT
  EXPECT_EQ(code({{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_PORT", "1"}}), "invalid_env");
  EXPECT_EQ(code({{"WORLD_SIZE", "two"}}), "invalid_env");
  EXPECT_EQ(code({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", "70000"}}), "invalid_env");
  EXPECT_EQ(code({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", "29500"}}), "ok");
}

}  // namespace
}  // namespace radflow::ml::ssl::testing
