// Dice and IoU (Jaccard) overlap of segmentation masks.
//
//   dice = 2 |P ∩ T| / (|P| + |T|),   iou = |P ∩ T| / |P ∪ T|
//
// Binary masks are flattened uint8 vectors where any non-zero value is foreground.
// Label maps are flattened int32 vectors of class ids; the per-class versions return
// one value per class id in [0, n_classes). Ids outside that range (e.g. an ignore
// value such as 255 or -1) belong to no class and are ignored.
//
// Convention for empty masks: when both prediction and truth are empty the value is
// 1.0 (a correct "nothing here" prediction, as in MONAI's ignore_empty=False and most
// medical segmentation challenges); when exactly one is empty it is 0.0. So a class
// absent from both maps scores 1.0 — drop such classes before macro-averaging if
// that is not wanted.
//
// Masks must have equal length (checked). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace radflow::ml::metrics {

double dice(const std::vector<uint8_t>& pred_mask, const std::vector<uint8_t>& true_mask);
double iou(const std::vector<uint8_t>& pred_mask, const std::vector<uint8_t>& true_mask);

// Preconditions (checked): equal lengths, n_classes > 0.
std::vector<double> dice_per_class(const std::vector<int32_t>& pred_labels,
                                   const std::vector<int32_t>& true_labels, int n_classes);
std::vector<double> iou_per_class(const std::vector<int32_t>& pred_labels,
                                  const std::vector<int32_t>& true_labels, int n_classes);

}  // namespace radflow::ml::metrics
