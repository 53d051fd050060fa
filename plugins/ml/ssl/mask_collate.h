// The iBOT masks of one batch of global crops, as DINOv2's collate_data_and_cast
// (dinov2/data/collate.py; research/raddino-method.md §2.7): floor(n_crops *
// mask_probability) crops get a block mask whose target ratio is drawn uniformly inside
// its own bin of linspace(ratio_min, ratio_max, n_masked + 1) (stratified), the others
// get none, and the list is shuffled across all crops. Also the per-patch loss weights
// (1 / masked count of the crop) and the flat indices of the masked patches.
//
// Functions only; results are plain tensors owned by the caller.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "plugins/ml/ssl/block_mask_generator.h"
#include "plugins/ml/ssl/ssl_rng.h"

namespace radflow::ml::ssl {

struct MaskCollateOptions {
  double mask_probability = 0.5;  // share of the global crops that get a mask
  double ratio_min = 0.1;
  double ratio_max = 0.5;
};

struct MaskBatch {
  torch::Tensor masks;          // bool [n_crops, N], row-major grid, crop order as the crops
  torch::Tensor mask_indices;   // int64 [M], flat indices into masks.flatten() of the masked patches
  torch::Tensor masks_weight;   // float [M], 1 / (masked count of the patch's crop)
  int64_t n_masked_patches = 0; // M
  // Sum over masked crops of floor(N * bin upper edge): DINOv2's buffer size bound.
  int64_t upperbound = 0;
  // Per crop, after the shuffle: the drawn ratio (0 for unmasked crops), the bin it was
  // drawn from, and the target floor(N * ratio) given to the generator.
  std::vector<double> ratios;
  std::vector<double> bin_low, bin_high;
  std::vector<int64_t> targets;
};

// n_crops is the number of global crops in the batch (2B). Preconditions (checked):
// n_crops > 0, 0 <= mask_probability <= 1, 0 <= ratio_min <= ratio_max <= 1.
MaskBatch collate_masks(int64_t n_crops, const BlockMaskGenerator& generator,
                        const MaskCollateOptions& options, SslRng& rng);

// The masks of a subset of the crops (crop_rows: int64 indices into batch.masks), with
// mask_indices, masks_weight and n_masked_patches recomputed for that subset and the
// per-crop vectors picked alike (upperbound counts the picked masked crops). A rank
// draws the whole global batch's masks with the shared step seed and keeps its own
// crops, so an image's mask does not depend on how the batch is split over ranks.
MaskBatch select_crops(const MaskBatch& batch, const torch::Tensor& crop_rows);

// 1 / clamp(masks.sum(-1), 1) for each masked patch, in masks.flatten() order: the
// weights DINOv2's iBOTPatchLoss.forward_masked computes when none are passed.
torch::Tensor ibot_masks_weight(const torch::Tensor& masks);

}  // namespace radflow::ml::ssl
