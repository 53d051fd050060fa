#include "plugins/ml/metrics/mask_overlap.h"

#include "common/check.h"

namespace radflow::ml::metrics {
namespace {

struct OverlapCounts {
  int64_t intersection = 0;
  int64_t pred = 0;
  int64_t truth = 0;
};

double dice_from(const OverlapCounts& c) {
  if (c.pred + c.truth == 0) return 1.0;
  return 2.0 * static_cast<double>(c.intersection) / static_cast<double>(c.pred + c.truth);
}

double iou_from(const OverlapCounts& c) {
  const int64_t union_size = c.pred + c.truth - c.intersection;
  if (union_size == 0) return 1.0;
  return static_cast<double>(c.intersection) / static_cast<double>(union_size);
}

OverlapCounts binary_counts(const std::vector<uint8_t>& pred, const std::vector<uint8_t>& truth) {
  RF_CHECK(pred.size() == truth.size(), "mask overlap: masks differ in length");
  OverlapCounts c;
  for (size_t i = 0; i < pred.size(); ++i) {
    const bool p = pred[i] != 0;
    const bool t = truth[i] != 0;
    c.pred += p;
    c.truth += t;
    c.intersection += p && t;
  }
  return c;
}

std::vector<OverlapCounts> class_counts(const std::vector<int32_t>& pred,
                                        const std::vector<int32_t>& truth, int n_classes) {
  RF_CHECK(pred.size() == truth.size(), "mask overlap: label maps differ in length");
  RF_CHECK(n_classes > 0, "mask overlap: n_classes must be positive");
  std::vector<OverlapCounts> counts(static_cast<size_t>(n_classes));
  auto in_range = [n_classes](int32_t id) { return id >= 0 && id < n_classes; };
  for (size_t i = 0; i < pred.size(); ++i) {
    if (in_range(pred[i])) ++counts[static_cast<size_t>(pred[i])].pred;
    if (in_range(truth[i])) ++counts[static_cast<size_t>(truth[i])].truth;
    if (pred[i] == truth[i] && in_range(pred[i])) {
      ++counts[static_cast<size_t>(pred[i])].intersection;
    }
  }
  return counts;
}

}  // namespace

double dice(const std::vector<uint8_t>& pred_mask, const std::vector<uint8_t>& true_mask) {
  return dice_from(binary_counts(pred_mask, true_mask));
}

double iou(const std::vector<uint8_t>& pred_mask, const std::vector<uint8_t>& true_mask) {
  return iou_from(binary_counts(pred_mask, true_mask));
}

std::vector<double> dice_per_class(const std::vector<int32_t>& pred_labels,
                                   const std::vector<int32_t>& true_labels, int n_classes) {
  std::vector<double> out;
  for (const OverlapCounts& c : class_counts(pred_labels, true_labels, n_classes)) {
    out.push_back(dice_from(c));
  }
  return out;
}

std::vector<double> iou_per_class(const std::vector<int32_t>& pred_labels,
                                  const std::vector<int32_t>& true_labels, int n_classes) {
  std::vector<double> out;
  for (const OverlapCounts& c : class_counts(pred_labels, true_labels, n_classes)) {
    out.push_back(iou_from(c));
  }
  return out;
}

}  // namespace radflow::ml::metrics
