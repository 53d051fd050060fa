#include "plugins/ml/metrics/regression.h"

#include <cmath>
#include <limits>

#include "common/check.h"

namespace radflow::ml::metrics {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double mean_of(const std::vector<double>& v) {
  double sum = 0.0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

}  // namespace

double pearson_r(const std::vector<double>& x, const std::vector<double>& y,
                 MetricWarning* warning) {
  RF_CHECK(x.size() == y.size(), "pearson_r: inputs differ in length");
  set_warning(warning, MetricWarning::kNone);
  if (x.size() < 2) {
    set_warning(warning, MetricWarning::kTooFewSamples);
    return kNan;
  }
  // Two-pass (centre first) so large offsets such as ages ~ 60 lose no precision.
  const double mx = mean_of(x);
  const double my = mean_of(y);
  double sxy = 0.0, sxx = 0.0, syy = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - mx;
    const double dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0.0 || syy == 0.0) {
    set_warning(warning, MetricWarning::kZeroVariance);
    return kNan;
  }
  const double r = sxy / std::sqrt(sxx * syy);
  return std::fmax(-1.0, std::fmin(1.0, r));  // rounding may overshoot by an ulp
}

double r2(const std::vector<double>& y_true, const std::vector<double>& y_pred,
          MetricWarning* warning) {
  RF_CHECK(y_true.size() == y_pred.size(), "r2: inputs differ in length");
  set_warning(warning, MetricWarning::kNone);
  if (y_true.size() < 2) {
    set_warning(warning, MetricWarning::kTooFewSamples);
    return kNan;
  }
  const double mean_true = mean_of(y_true);
  double ss_res = 0.0, ss_tot = 0.0;
  for (size_t i = 0; i < y_true.size(); ++i) {
    ss_res += (y_true[i] - y_pred[i]) * (y_true[i] - y_pred[i]);
    ss_tot += (y_true[i] - mean_true) * (y_true[i] - mean_true);
  }
  if (ss_tot == 0.0) {
    set_warning(warning, MetricWarning::kZeroVariance);
    return kNan;
  }
  return 1.0 - ss_res / ss_tot;
}

double mae(const std::vector<double>& y_true, const std::vector<double>& y_pred,
           MetricWarning* warning) {
  RF_CHECK(y_true.size() == y_pred.size(), "mae: inputs differ in length");
  set_warning(warning, MetricWarning::kNone);
  if (y_true.empty()) {
    set_warning(warning, MetricWarning::kEmptyInput);
    return kNan;
  }
  double sum = 0.0;
  for (size_t i = 0; i < y_true.size(); ++i) sum += std::fabs(y_true[i] - y_pred[i]);
  return sum / static_cast<double>(y_true.size());
}

}  // namespace radflow::ml::metrics
