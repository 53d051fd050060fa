// score_masks(): the segment plugin's reported test metrics, from predicted and true
// 0/1 masks of every test image.
//
// Per structure: Dice and IoU of each image (plugins/ml/metrics/mask_overlap.h, so an
// image where both prediction and truth are empty scores 1 and one where only one of
// them is empty scores 0), averaged over the test images, with a percentile bootstrap
// 95% interval over images. A structure that is empty in every test truth mask gets
// NaN and a warning: its score would only measure false positives. mean_dice and
// mean_iou average the structures with a finite score; their intervals come from the
// same bootstrap over images, of each image's Dice (IoU) averaged over those
// structures (whose mean over images is mean_dice, mean_iou).
// Everything is recomputable from the per-image counts (OverlapCounts) alone.
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plugins/ml/metrics/bootstrap.h"

namespace radflow::segment {

struct OverlapCounts {
  int64_t pred = 0;          // predicted pixels
  int64_t truth = 0;         // true pixels
  int64_t intersection = 0;
  int64_t union_pixels = 0;
};

struct StructureScore {
  std::string structure;
  double dice = 0.0, iou = 0.0;  // NaN with a warning
  ml::metrics::BootstrapInterval dice_ci, iou_ci;
  int64_t images_with_structure = 0;  // test images whose truth is non-empty
  std::string warning;
  std::vector<OverlapCounts> counts;  // per test image
  std::vector<double> image_dice, image_iou;
};

struct MaskScores {
  std::vector<StructureScore> structures;
  double mean_dice = 0.0, mean_iou = 0.0;  // NaN when no structure has a score
  ml::metrics::BootstrapInterval mean_dice_ci, mean_iou_ci;  // NaN bounds then too
  int mean_count = 0;
};

// pred, truth: n_images * n_structures * pixels bytes, image-major then structure.
MaskScores score_masks(const uint8_t* pred, const uint8_t* truth, int64_t n_images,
                       const std::vector<std::string>& structures, int64_t pixels,
                       int bootstrap_resamples, uint64_t seed);

}  // namespace radflow::segment
