// Training and inference of a SegmentationHead on frozen patch tokens.
//
// Loss: per-structure sigmoid binary cross-entropy + soft Dice. Sigmoid per structure
// rather than a softmax over structures because structures may overlap: a finding
// (effusion, nodule) lies inside the lungs, and heart and lungs touch, so one pixel
// can belong to several structures; a softmax would force them to compete. BCE gives
// dense per-pixel gradients, soft Dice keeps small structures from being drowned by
// background. A pixel is predicted when its logit is > 0 (probability 0.5).
//
// When a val split is given the head is scored on it (mean per-image Dice) after
// every epoch and the best epoch's weights are kept. Deterministic for a seed.
// Free functions; the head is borrowed and must not be used concurrently.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "plugins/segment/segmentation_data.h"
#include "plugins/segment/segmentation_head.h"

namespace radflow::segment {

struct TrainOptions {
  int64_t epochs = 30;
  double lr = 1e-3;
  double weight_decay = 1e-4;
  int64_t batch_size = 16;
  uint64_t seed = 0;
};

struct EpochStats {
  int64_t epoch = 0;          // 1-based
  double train_loss = 0.0;    // mean over batches
  double val_dice = NAN;      // mean per-image Dice on val; NaN without a val split
};

struct TrainResult {
  std::vector<EpochStats> epochs;
  int64_t best_epoch = 0;     // the epoch whose weights the head holds afterwards
  bool stopped = false;       // the callback asked to stop
};

// Called after each epoch; returning false stops training (cancellation).
using EpochCallback = std::function<bool(const EpochStats&)>;

// BCE + soft Dice of logits [B, C, H, W] against 0/1 targets of the same shape.
torch::Tensor segmentation_loss(const torch::Tensor& logits, const torch::Tensor& targets);

// Mean over images and structures of the per-image Dice of 0/1 masks [n, C, H, W]
// (1 when both are empty). For epoch selection only; reported numbers come from
// score_masks().
double mean_image_dice(const torch::Tensor& pred, const torch::Tensor& truth);

// Trains `head` on `train` (size > 0) with AdamW; `val` may be empty.
TrainResult train_head(SegmentationHead& head, const SegmentationSplit& train,
                       const SegmentationSplit& val, const TrainOptions& options,
                       const EpochCallback& on_epoch);

// Predicted masks of `split`, uint8 [n, C, mask_h, mask_w]: 1 where logit > 0.
torch::Tensor predict_masks(SegmentationHead& head, const SegmentationSplit& split,
                            int64_t batch_size);

}  // namespace radflow::segment
