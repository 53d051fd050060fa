#include "plugins/ml/ssl/epoch_sampler.h"

#include <algorithm>
#include <map>
#include <set>

#include <gtest/gtest.h>

namespace radflow::ml::ssl {
namespace {

TEST(EpochSampler, EveryImageOncePerEpochDisjointRanksNoRepeatsInABatch) {
  const int64_t n = 48, batch = 4, ranks = 3;  // G = 12: 4 steps per epoch
  EpochSampler sampler(n, batch, ranks, 5);
  ASSERT_EQ(sampler.steps_per_epoch(), 4);
  EXPECT_FALSE(sampler.repeats_within_batch());
  std::vector<int64_t> first_epoch;
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::map<int64_t, int> seen;
    for (int64_t s = 0; s < sampler.steps_per_epoch(); ++s) {
      const int64_t it = epoch * sampler.steps_per_epoch() + s;
      std::set<int64_t> in_batch;
      for (int64_t r = 0; r < ranks; ++r) {
        const auto shard = sampler.rank_batch(it, r);
        ASSERT_EQ(static_cast<int64_t>(shard.size()), batch);
        for (int64_t i : shard) {
          EXPECT_TRUE(in_batch.insert(i).second) << "image " << i << " twice in step " << it;
          ++seen[i];
          if (epoch == 0) first_epoch.push_back(i);
        }
      }
    }
    ASSERT_EQ(static_cast<int64_t>(seen.size()), n) << "epoch " << epoch;
    for (const auto& [image, count] : seen) EXPECT_EQ(count, 1) << "image " << image << " in epoch " << epoch;
  }
  // Shuffled, and differently each epoch.
  std::vector<int64_t> identity(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) identity[static_cast<size_t>(i)] = i;
  EXPECT_NE(first_epoch, identity);
  EXPECT_NE(sampler.epoch_order(0), sampler.epoch_order(1));
}

TEST(EpochSampler, ARemainderIsPaddedFromTheEpochsStartWithoutRepeatsInABatch) {
  const int64_t n = 10, batch = 2, ranks = 2;  // G = 4: 3 steps, 2 images twice
  EpochSampler sampler(n, batch, ranks, 1);
  ASSERT_EQ(sampler.steps_per_epoch(), 3);
  std::map<int64_t, int> seen;
  for (int64_t it = 0; it < 3; ++it) {
    const auto all = sampler.global_batch_indices(it);
    EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()).size(), all.size()) << "step " << it;
    for (int64_t i : all) ++seen[i];
  }
  EXPECT_EQ(static_cast<int64_t>(seen.size()), n);
  int twice = 0;
  for (const auto& [image, count] : seen) twice += count == 2;
  EXPECT_EQ(twice, 2);
  // Fewer images than the global batch: repeats are unavoidable and reported.
  EXPECT_TRUE(EpochSampler(3, 2, 2, 0).repeats_within_batch());
}

TEST(EpochSampler, SameSeedSameOrderAndResumesMidEpoch) {
  EpochSampler a(37, 4, 2, 9), b(37, 4, 2, 9), other(37, 4, 2, 10);
  std::vector<std::vector<int64_t>> run;
  for (int64_t it = 0; it < 12; ++it) run.push_back(a.rank_batch(it, 1));
  bool differs = false;
  for (int64_t it = 0; it < 12; ++it) differs |= other.rank_batch(it, 1) != run[static_cast<size_t>(it)];
  EXPECT_TRUE(differs);
  // A fresh sampler asked from step 7 on (a resumed run, mid second epoch) continues
  // with exactly the batches of the uninterrupted one.
  ASSERT_EQ(b.steps_per_epoch(), 5);
  for (int64_t it = 7; it < 12; ++it) EXPECT_EQ(b.rank_batch(it, 1), run[static_cast<size_t>(it)]) << it;
}

}  // namespace
}  // namespace radflow::ml::ssl
