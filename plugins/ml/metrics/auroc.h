// auroc(): area under the ROC curve of binary scores, computed from ranks
// (Mann-Whitney U): AUROC = (sum of positive ranks - P(P+1)/2) / (P * N), with tied
// scores given their average rank. This equals the probability that a random
// positive outranks a random negative, counting ties as one half, and matches
// sklearn.metrics.roc_auc_score for binary labels.
//
// Labels: 0 is negative, any other value is positive. Scores and labels must have
// the same length (checked; a mismatch is a programmer error). A NaN score or labels of a single
// class (or no samples) give NaN and set *warning. O(n log n); pure function,
// thread-safe.
#pragma once

#include <vector>

#include "plugins/ml/metrics/metric_warning.h"

namespace radflow::ml::metrics {

double auroc(const std::vector<double>& scores, const std::vector<int>& labels,
             MetricWarning* warning = nullptr);

}  // namespace radflow::ml::metrics
