#include "plugins/ml/metrics/metric_warning.h"

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

}  // namespace radflow::ml::metrics
