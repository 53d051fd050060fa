#include "plugins/ml/data/split_assignment.h"

#include <cmath>
#include <vector>

namespace radflow::ml::data {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

Status assign_missing_splits(Manifest& manifest, const SplitRatios& ratios, uint64_t seed) {
  const double total = ratios.train + ratios.val + ratios.test;
  if (ratios.train < 0 || ratios.val < 0 || ratios.test < 0 || !(total > 0)) {
    return Status::error("invalid_split_ratios", "split ratios must be >= 0 and not all zero");
  }
  std::vector<size_t> pending;
  for (size_t i = 0; i < manifest.records.size(); ++i) {
    if (manifest.records[i].split == Split::kUnassigned) pending.push_back(i);
  }
  const auto count = static_cast<int64_t>(pending.size());
  const int64_t n_train = std::llround(count * ratios.train / total);
  const int64_t n_val = std::min(count - n_train, static_cast<int64_t>(std::llround(count * ratios.val / total)));
  std::vector<Split> splits(pending.size());
  for (int64_t i = 0; i < count; ++i) {
    if (i < n_train) splits[i] = Split::kTrain;
    else if (i < n_train + n_val) splits[i] = Split::kVal;
    // Rounding leftovers go to the last split with a non-zero ratio.
    else splits[i] = ratios.test > 0 ? Split::kTest : (ratios.val > 0 ? Split::kVal : Split::kTrain);
  }
  uint64_t state = seed;
  for (int64_t i = count - 1; i > 0; --i) {
    std::swap(splits[i], splits[splitmix64(state) % static_cast<uint64_t>(i + 1)]);
  }
  for (size_t k = 0; k < pending.size(); ++k) manifest.records[pending[k]].split = splits[k];
  return Status::ok_status();
}

}  // namespace radflow::ml::data
