// assign_missing_splits: gives every Split::kUnassigned record of a manifest a split,
// in exact proportions (rounded) to the ratios, shuffled by a seed with a
// hand-written generator (SplitMix64), so a seed gives the same assignment with
// every standard library. Records that already have a split keep it. Thread-safe.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "plugins/ml/data/manifest.h"

namespace radflow::ml::data {

struct SplitRatios {
  double train = 0.7, val = 0.15, test = 0.15;
};

// Error "invalid_split_ratios" when a ratio is negative or all are zero.
Status assign_missing_splits(Manifest& manifest, const SplitRatios& ratios, uint64_t seed);

}  // namespace radflow::ml::data
