#include "plugins/ml/metrics/average_precision.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/check.h"

namespace radflow::ml::metrics {

double average_precision(const std::vector<double>& scores, const std::vector<int>& labels,
                         MetricWarning* warning) {
  RF_CHECK(scores.size() == labels.size(),
           "average_precision: scores and labels differ in length");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (!ranking_input_usable(scores, warning)) return nan;
  const size_t n = scores.size();
  double total_pos = 0.0;
  for (int label : labels) total_pos += label != 0 ? 1.0 : 0.0;
  if (total_pos == 0.0) {
    set_warning(warning, MetricWarning::kNoPositives);
    return nan;
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return scores[a] > scores[b]; });

  double tp = 0.0;
  double prev_recall = 0.0;
  double ap = 0.0;
  size_t i = 0;
  while (i < n) {
    // Consume the whole tie group before taking a step: one threshold per distinct score.
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) {
      if (labels[order[j]] != 0) tp += 1.0;
      ++j;
    }
    const double precision = tp / static_cast<double>(j);
    const double recall = tp / total_pos;
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
    i = j;
  }
  return ap;
}

}  // namespace radflow::ml::metrics
