// cpu_shards: the row ranges, the shard count, and that for_each_shard really runs on
// several threads with the caller's thread-local state (a translation unit built
// without OpenMP runs at::parallel_for serially: the first test catches that).
#include "plugins/ml/torch/cpu_shards.h"

#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/ml/intra_op_threads.h"

namespace radflow::ml {
namespace {

using ::radflow::ml::testing::IntraOpThreads;

TEST(CpuShards, ForEachShardRunsOnSeveralThreadsUnderTheCallersGradMode) {
  IntraOpThreads two(2);
  torch::NoGradGuard no_grad;  // the state the shards must see
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::vector<int> grad_enabled(2, -1);
  for_each_shard(2, [&](int64_t shard) {
    const std::lock_guard<std::mutex> lock(mutex);
    threads.insert(std::this_thread::get_id());
    grad_enabled[static_cast<size_t>(shard)] = torch::GradMode::is_enabled() ? 1 : 0;
  });
  EXPECT_EQ(threads.size(), 2u) << "the shards ran on one thread: is the file compiled with OpenMP?";
  EXPECT_EQ(grad_enabled, (std::vector<int>{0, 0}));
}

TEST(CpuShards, ForEachShardRunsEveryShardOnceAndRethrows) {
  IntraOpThreads two(2);
  std::mutex mutex;
  std::multiset<int64_t> seen;
  for_each_shard(5, [&](int64_t shard) {
    const std::lock_guard<std::mutex> lock(mutex);
    seen.insert(shard);
  });
  EXPECT_EQ(seen, (std::multiset<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_THROW(for_each_shard(2, [](int64_t shard) {
                 if (shard == 1) throw std::runtime_error("shard 1 failed");
               }),
               std::runtime_error);
}

TEST(CpuShards, ForEachRowVisitsEveryRowOnceInItsShardsThread) {
  IntraOpThreads two(2);
  std::mutex mutex;
  std::vector<std::thread::id> thread_of(7);
  std::multiset<int64_t> seen;
  for_each_row(7, 2, [&](int64_t row) {
    const std::lock_guard<std::mutex> lock(mutex);
    seen.insert(row);
    thread_of[static_cast<size_t>(row)] = std::this_thread::get_id();
  });
  EXPECT_EQ(seen, (std::multiset<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  // shard_rows(7, 2): rows 0-3 on one thread, 4-6 on the other.
  for (size_t row = 1; row < 7; ++row) {
    EXPECT_EQ(thread_of[row] == thread_of[0], row < 4) << "row " << row;
  }
}

TEST(CpuShards, ShardRowsAreContiguousNearEqualAndCoverEveryRow) {
  using Ranges = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(shard_rows(10, 3), (Ranges{{0, 4}, {4, 7}, {7, 10}}));
  EXPECT_EQ(shard_rows(8, 2), (Ranges{{0, 4}, {4, 8}}));
  EXPECT_EQ(shard_rows(3, 3), (Ranges{{0, 1}, {1, 2}, {2, 3}}));
  EXPECT_EQ(shard_rows(5, 1), (Ranges{{0, 5}}));
}

TEST(CpuShards, CountFollowsTheThreadsOnTheCpuOnly) {
  IntraOpThreads three(3);
  EXPECT_EQ(cpu_shard_count(0, 16, torch::kCPU), 3);  // one per intra-op thread
  EXPECT_EQ(cpu_shard_count(0, 2, torch::kCPU), 2);   // never more than the rows
  EXPECT_EQ(cpu_shard_count(1, 16, torch::kCPU), 1);  // 1 turns sharding off
  EXPECT_EQ(cpu_shard_count(4, 16, torch::kCPU), 4);
  EXPECT_EQ(cpu_shard_count(0, 16, torch::Device(torch::kCUDA, 0)), 1);
  // Inside a shard, nothing shards again.
  std::vector<int64_t> inner(2, -1);
  for_each_shard(2, [&](int64_t shard) { inner[static_cast<size_t>(shard)] = cpu_shard_count(0, 16, torch::kCPU); });
  EXPECT_EQ(inner, (std::vector<int64_t>{1, 1}));
}

}  // namespace
}  // namespace radflow::ml
