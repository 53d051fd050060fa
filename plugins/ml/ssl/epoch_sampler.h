// EpochSampler: which images each rank trains on at each step, drawn without
// replacement within an epoch (the DistributedSampler / DINOv2 sharded-sampler idea):
// epoch e is a permutation of the n images shuffled with (seed, e); step s of the
// epoch takes positions [s G, (s + 1) G) of it as the global batch (G = batch per rank
// x ranks), and rank r holds positions [s G + r B, s G + (r + 1) B) (the trainer's
// crop seeds follow the same global-batch index). An epoch is ceil(n / G) steps; when
// G does not divide n, the last batch is filled from the start of the same permutation
// (as DistributedSampler pads), so every image comes once per epoch and a few twice.
// With n >= G no batch holds an image twice and the ranks' shards are disjoint; with
// n < G repeats inside a batch cannot be avoided (the caller should say so).
//
// A batch is a pure function of (seed, n, B, ranks, iteration), so a resumed run
// continues mid-epoch from its step count alone. Torch-free; the permutation of the
// last epoch asked for is cached, so an instance is not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace radflow::ml::ssl {

class EpochSampler {
 public:
  // Preconditions (checked): n_images >= 1, batch_per_rank >= 1, world_size >= 1.
  EpochSampler(int64_t n_images, int64_t batch_per_rank, int64_t world_size, uint64_t seed);

  int64_t global_batch() const { return batch_per_rank_ * world_size_; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  // Whether a batch may hold an image twice (n_images < global batch).
  bool repeats_within_batch() const { return n_images_ < global_batch(); }

  // The shuffled image indices of `epoch` (a permutation of [0, n)).
  std::vector<int64_t> epoch_order(int64_t epoch) const { return order(epoch); }
  // Image indices of the whole global batch at `iteration` (0-based, counted from the
  // first step of the run), rank 0's shard first.
  std::vector<int64_t> global_batch_indices(int64_t iteration) const;
  // Image indices of `rank`'s shard at `iteration`.
  std::vector<int64_t> rank_batch(int64_t iteration, int64_t rank) const;

 private:
  const std::vector<int64_t>& order(int64_t epoch) const;  // the cached permutation

  int64_t n_images_, batch_per_rank_, world_size_;
  uint64_t seed_;
  int64_t steps_per_epoch_;
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<int64_t> cached_order_;
};

}  // namespace radflow::ml::ssl
