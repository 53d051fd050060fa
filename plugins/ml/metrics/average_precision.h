// average_precision(): area under the precision-recall curve as a step sum, exactly
// as sklearn.metrics.average_precision_score computes it for binary labels:
//
//   AP = sum_n (R_n - R_{n-1}) * P_n,   R_0 = 0,
//
// where n runs over the distinct scores in descending order (the thresholds), and
// P_n / R_n are precision and recall when every sample scoring >= that threshold is
// called positive. Tied scores therefore enter as one step, whatever their order.
//
// Labels: 0 is negative, anything else positive; lengths must match (checked).
// No positive label, a NaN score, or no samples gives NaN and sets *warning. O(n log n); pure
// function, thread-safe.
#pragma once

#include <vector>

#include "plugins/ml/metrics/metric_warning.h"

namespace radflow::ml::metrics {

double average_precision(const std::vector<double>& scores, const std::vector<int>& labels,
                         MetricWarning* warning = nullptr);

}  // namespace radflow::ml::metrics
