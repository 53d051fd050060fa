// synthetic_segmentation_set(): a feature set for segment tests whose masks are PNG
// files on disk. Grid 4x4, token dim 8, patch tokens of blocks 1 and 3; each patch is
// 8x8 mask pixels (masks 32x32). Structures:
//   lungs  on in a patch iff block 3's token channel 0 > 0 there (about half the image)
//   heart  on in a patch iff block 3's token channel 1 > 0.8 (about a fifth)
// after which both channels are set to +-[1, 1.5] by the on/off value (a margin).
// With `random_tokens` the tokens are redrawn after the masks, so nothing predicts
// them. Splits cycle train/train/train/val/test... (60/20/20). Every row has an image
// PNG at its path. Test helper; not thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "plugins/ml/eval/feature_set.h"

namespace radflow::segment::test {

struct SyntheticOptions {
  int64_t n = 100;
  uint64_t seed = 1;
  bool random_tokens = false;
};

ml::eval::FeatureSet synthetic_segmentation_set(const std::string& dir, const SyntheticOptions& options);

}  // namespace radflow::segment::test
