#include "plugins/segment/mask_scores.h"

#include <cmath>
#include <numeric>

#include "plugins/ml/metrics/mask_overlap.h"

namespace radflow::segment {

namespace {

double mean(const std::vector<double>& values) {
  if (values.empty()) return NAN;
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

// The mean over resampled images; bootstrap_ci() wants a binary-label metric, so the
// per-image values travel as "scores" and the labels are unused.
ml::metrics::BootstrapInterval mean_ci(const std::vector<double>& values, int resamples, uint64_t seed) {
  const std::vector<int> unused(values.size(), 0);
  return ml::metrics::bootstrap_ci([](const std::vector<double>& v, const std::vector<int>&) { return mean(v); },
                               values, unused, resamples, 0.05, seed);
}

}  // namespace

MaskScores score_masks(const uint8_t* pred, const uint8_t* truth, int64_t n_images,
                       const std::vector<std::string>& structures, int64_t pixels,
                       int bootstrap_resamples, uint64_t seed) {
  MaskScores out;
  const int64_t n_structures = static_cast<int64_t>(structures.size());
  std::vector<double> dices, ious;
  for (int64_t s = 0; s < n_structures; ++s) {
    StructureScore score;
    score.structure = structures[s];
    for (int64_t i = 0; i < n_images; ++i) {
      const size_t offset = static_cast<size_t>((i * n_structures + s) * pixels);
      const std::vector<uint8_t> p(pred + offset, pred + offset + pixels);
      const std::vector<uint8_t> t(truth + offset, truth + offset + pixels);
      OverlapCounts c;
      for (int64_t k = 0; k < pixels; ++k) {
        const bool a = p[k] != 0, b = t[k] != 0;
        c.pred += a;
        c.truth += b;
        c.intersection += a && b;
        c.union_pixels += a || b;
      }
      score.counts.push_back(c);
      score.images_with_structure += c.truth > 0;
      score.image_dice.push_back(ml::metrics::dice(p, t));
      score.image_iou.push_back(ml::metrics::iou(p, t));
    }
    if (n_images == 0) {
      score.warning = "no test images";
    } else if (score.images_with_structure == 0) {
      score.warning = "structure \"" + score.structure + "\" is empty in every test mask";
    }
    if (score.warning.empty()) {
      score.dice = mean(score.image_dice);
      score.iou = mean(score.image_iou);
      score.dice_ci = mean_ci(score.image_dice, bootstrap_resamples, seed + 2 * s);
      score.iou_ci = mean_ci(score.image_iou, bootstrap_resamples, seed + 2 * s + 1);
      dices.push_back(score.dice);
      ious.push_back(score.iou);
    } else {
      score.dice = score.iou = NAN;
      score.dice_ci = score.iou_ci = {NAN, NAN, NAN, 0};
    }
    out.structures.push_back(std::move(score));
  }
  out.mean_dice = mean(dices);
  out.mean_iou = mean(ious);
  out.mean_count = static_cast<int>(dices.size());
  // Each image's score averaged over the scored structures: every structure is scored
  // on every image, so the mean of these over images is mean_dice (mean_iou).
  std::vector<double> image_dice, image_iou;
  for (int64_t i = 0; i < n_images && out.mean_count > 0; ++i) {
    double dice_sum = 0.0, iou_sum = 0.0;
    for (const StructureScore& s : out.structures) {
      if (!s.warning.empty()) continue;
      dice_sum += s.image_dice[i];
      iou_sum += s.image_iou[i];
    }
    image_dice.push_back(dice_sum / out.mean_count);
    image_iou.push_back(iou_sum / out.mean_count);
  }
  if (out.mean_count > 0) {
    out.mean_dice_ci = mean_ci(image_dice, bootstrap_resamples, seed + 2 * n_structures);
    out.mean_iou_ci = mean_ci(image_iou, bootstrap_resamples, seed + 2 * n_structures + 1);
  } else {
    out.mean_dice_ci = out.mean_iou_ci = {NAN, NAN, NAN, 0};
  }
  return out;
}

}  // namespace radflow::segment
