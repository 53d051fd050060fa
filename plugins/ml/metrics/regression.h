// Regression metrics for continuous targets (age, BMI probes).
//
//  pearson_r(x, y): sample correlation; NaN when n < 2 or either input is constant.
//  r2(y_true, y_pred): coefficient of determination 1 - SS_res / SS_tot, as
//    sklearn.metrics.r2_score for one output. NaN when n < 2 or y_true is constant
//    (sklearn's force_finite=True would return 1.0 or 0.0 there instead; NaN keeps a
//    meaningless score from looking like a result). Can be negative.
//  mae(y_true, y_pred): mean absolute error; NaN only when there are no samples.
//
// Inputs must have equal lengths (checked). *warning says why a result is NaN.
// Pure functions, thread-safe.
#pragma once

#include <vector>

#include "plugins/ml/metrics/metric_warning.h"

namespace radflow::ml::metrics {

double pearson_r(const std::vector<double>& x, const std::vector<double>& y,
                 MetricWarning* warning = nullptr);
double r2(const std::vector<double>& y_true, const std::vector<double>& y_pred,
          MetricWarning* warning = nullptr);
double mae(const std::vector<double>& y_true, const std::vector<double>& y_pred,
           MetricWarning* warning = nullptr);

}  // namespace radflow::ml::metrics
