#include "plugins/ml/metrics/auroc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/check.h"

namespace radflow::ml::metrics {

double auroc(const std::vector<double>& scores, const std::vector<int>& labels,
             MetricWarning* warning) {
  RF_CHECK(scores.size() == labels.size(), "auroc: scores and labels differ in length");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (!ranking_input_usable(scores, warning)) return nan;
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return scores[a] < scores[b]; });

  // Walk groups of equal scores; every member gets the group's mean 1-based rank.
  double positive_rank_sum = 0.0;
  double n_pos = 0.0;
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j + 1)) / 2.0;
    for (size_t k = i; k <= j; ++k) {
      if (labels[order[k]] != 0) {
        positive_rank_sum += mean_rank;
        n_pos += 1.0;
      }
    }
    i = j + 1;
  }
  const double n_neg = static_cast<double>(n) - n_pos;
  if (n_pos == 0.0 || n_neg == 0.0) {
    set_warning(warning, MetricWarning::kSingleClass);
    return nan;
  }
  return (positive_rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg);
}

}  // namespace radflow::ml::metrics
