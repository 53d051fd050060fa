#include "plugins/ml/metrics/metric_warning.h"

#include <cmath>

namespace radflow::ml::metrics {

const char* to_string(MetricWarning warning) {
  switch (warning) {
    case MetricWarning::kNone: return "none";
    case MetricWarning::kEmptyInput: return "empty_input";
    case MetricWarning::kSingleClass: return "single_class";
    case MetricWarning::kNoPositives: return "no_positives";
    case MetricWarning::kTooFewSamples: return "too_few_samples";
    case MetricWarning::kZeroVariance: return "zero_variance";
    case MetricWarning::kNanScore: return "nan_score";
  }
  return "unknown";
}

bool ranking_input_usable(const std::vector<double>& scores, MetricWarning* warning) {
  set_warning(warning, MetricWarning::kNone);
  if (scores.empty()) {
    set_warning(warning, MetricWarning::kEmptyInput);
    return false;
  }
  for (double score : scores) {
    if (std::isnan(score)) {
      set_warning(warning, MetricWarning::kNanScore);
      return false;
    }
  }
  return true;
}

}  // namespace radflow::ml::metrics
