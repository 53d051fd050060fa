// MetricWarning: why a metric came out as NaN (or was otherwise degenerate).
//
// Metrics never log and never throw on degenerate input: they return NaN and, when
// the caller passes a MetricWarning*, say why. Logging is left to the caller because
// bootstrap_ci() evaluates a metric thousands of times and one warning per resample
// would drown the log. Plain value type; thread-safe to copy.
#pragma once

#include <vector>

namespace radflow::ml::metrics {

enum class MetricWarning {
  kNone,
  kEmptyInput,     // no samples at all
  kSingleClass,    // labels hold only positives or only negatives (AUROC)
  kNoPositives,    // no positive label (average precision)
  kTooFewSamples,  // fewer samples than the metric needs (e.g. n < 2 for Pearson r)
  kZeroVariance,   // a constant input makes the metric undefined
  kNanScore,       // a score is NaN, so there is no ranking
};

// Stable snake_case name, e.g. "single_class"; for logs and JSON outputs.
const char* to_string(MetricWarning warning);

// Stores `warning` into `*out` when out is not null.
inline void set_warning(MetricWarning* out, MetricWarning warning) {
  if (out != nullptr) *out = warning;
}

// The checks every ranking metric (AUROC, average precision) starts with: the
// input is non-empty and no score is NaN (NaN would also break the sort's strict
// weak ordering). Returns false, with the warning set, when the metric is NaN.
bool ranking_input_usable(const std::vector<double>& scores, MetricWarning* warning);

}  // namespace radflow::ml::metrics
