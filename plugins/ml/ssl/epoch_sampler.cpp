#include "plugins/ml/ssl/epoch_sampler.h"

#include <numeric>

#include "common/check.h"
#include "plugins/ml/ssl/ssl_rng.h"

namespace radflow::ml::ssl {
namespace {

constexpr uint64_t kEpochDomain = 0x65706F6368ULL;  // "epoch"

}  // namespace

EpochSampler::EpochSampler(int64_t n_images, int64_t batch_per_rank, int64_t world_size, uint64_t seed)
    : n_images_(n_images), batch_per_rank_(batch_per_rank), world_size_(world_size), seed_(seed) {
  RF_CHECK(n_images >= 1 && batch_per_rank >= 1 && world_size >= 1, "EpochSampler: sizes must be positive");
  steps_per_epoch_ = (n_images_ + global_batch() - 1) / global_batch();
}

const std::vector<int64_t>& EpochSampler::order(int64_t epoch) const {
  if (epoch != cached_epoch_) {
    cached_order_.resize(static_cast<size_t>(n_images_));
    std::iota(cached_order_.begin(), cached_order_.end(), int64_t{0});
    SslRng rng(splitmix64(splitmix64(seed_ ^ kEpochDomain) + static_cast<uint64_t>(epoch)));
    rng.shuffle(cached_order_);
    cached_epoch_ = epoch;
  }
  return cached_order_;
}

std::vector<int64_t> EpochSampler::global_batch_indices(int64_t iteration) const {
  RF_CHECK(iteration >= 0, "EpochSampler: negative iteration");
  const std::vector<int64_t>& perm = order(iteration / steps_per_epoch_);
  const int64_t start = (iteration % steps_per_epoch_) * global_batch();
  std::vector<int64_t> out(static_cast<size_t>(global_batch()));
  for (int64_t i = 0; i < global_batch(); ++i) {
    out[static_cast<size_t>(i)] = perm[static_cast<size_t>((start + i) % n_images_)];
  }
  return out;
}

std::vector<int64_t> EpochSampler::rank_batch(int64_t iteration, int64_t rank) const {
  RF_CHECK(rank >= 0 && rank < world_size_, "EpochSampler: rank out of range");
  const std::vector<int64_t> all = global_batch_indices(iteration);
  return std::vector<int64_t>(all.begin() + rank * batch_per_rank_, all.begin() + (rank + 1) * batch_per_rank_);
}

}  // namespace radflow::ml::ssl
