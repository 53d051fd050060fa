#include "plugins/ml/metrics/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/check.h"
#include "plugins/ml/metrics/xoshiro256.h"

namespace radflow::ml::metrics {

double interpolated_quantile(const std::vector<double>& sorted_values, double q) {
  RF_CHECK(!sorted_values.empty(), "interpolated_quantile of no values");
  RF_CHECK(q >= 0.0 && q <= 1.0, "quantile outside [0, 1]");
  const double position = q * static_cast<double>(sorted_values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, sorted_values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return sorted_values[below] + fraction * (sorted_values[above] - sorted_values[below]);
}

BootstrapInterval bootstrap_ci(const BinaryMetricFn& metric_fn, const std::vector<double>& scores,
                               const std::vector<int>& labels, int n_resamples, double alpha,
                               uint64_t seed) {
  RF_CHECK(scores.size() == labels.size(), "bootstrap_ci: scores and labels differ in length");
  RF_CHECK(n_resamples >= 0, "bootstrap_ci: negative n_resamples");
  RF_CHECK(alpha > 0.0 && alpha < 1.0, "bootstrap_ci: alpha must be in (0, 1)");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  BootstrapInterval out;
  out.point = metric_fn(scores, labels);
  out.low = nan;
  out.high = nan;
  const size_t n = scores.size();
  if (n == 0) return out;

  Xoshiro256 rng(seed);
  std::vector<double> values;
  values.reserve(static_cast<size_t>(n_resamples));
  std::vector<double> sample_scores(n);
  std::vector<int> sample_labels(n);
  for (int r = 0; r < n_resamples; ++r) {
    for (size_t i = 0; i < n; ++i) {
      const size_t pick = static_cast<size_t>(rng.uniform_below(n));
      sample_scores[i] = scores[pick];
      sample_labels[i] = labels[pick];
    }
    const double value = metric_fn(sample_scores, sample_labels);
    if (!std::isnan(value)) values.push_back(value);
  }
  out.n_valid = static_cast<int>(values.size());
  if (values.empty()) return out;
  std::sort(values.begin(), values.end());
  out.low = interpolated_quantile(values, alpha / 2.0);
  out.high = interpolated_quantile(values, 1.0 - alpha / 2.0);
  return out;
}

namespace {

void set_percentiles(std::vector<double> values, double alpha, BootstrapInterval* out) {
  out->n_valid = static_cast<int>(values.size());
  out->low = out->high = std::numeric_limits<double>::quiet_NaN();
  if (values.empty()) return;
  std::sort(values.begin(), values.end());
  out->low = interpolated_quantile(values, alpha / 2.0);
  out->high = interpolated_quantile(values, 1.0 - alpha / 2.0);
}

}  // namespace

PairedBootstrap paired_bootstrap_ci(const IndexedMetricFn& metric_a, const IndexedMetricFn& metric_b,
                                    size_t n, int n_resamples, double alpha, uint64_t seed) {
  RF_CHECK(n_resamples >= 0, "paired_bootstrap_ci: negative n_resamples");
  RF_CHECK(alpha > 0.0 && alpha < 1.0, "paired_bootstrap_ci: alpha must be in (0, 1)");
  std::vector<size_t> items(n);
  for (size_t i = 0; i < n; ++i) items[i] = i;
  PairedBootstrap out;
  out.a.point = metric_a(items);
  out.b.point = metric_b(items);
  out.difference.point = out.a.point - out.b.point;
  std::vector<double> a_values, b_values, differences;
  if (n > 0) {
    Xoshiro256 rng(seed);
    for (int r = 0; r < n_resamples; ++r) {
      for (size_t i = 0; i < n; ++i) items[i] = static_cast<size_t>(rng.uniform_below(n));
      const double a = metric_a(items);
      const double b = metric_b(items);
      if (std::isnan(a) || std::isnan(b)) continue;
      a_values.push_back(a);
      b_values.push_back(b);
      differences.push_back(a - b);
    }
  }
  set_percentiles(std::move(a_values), alpha, &out.a);
  set_percentiles(std::move(b_values), alpha, &out.b);
  set_percentiles(std::move(differences), alpha, &out.difference);
  return out;
}

BootstrapInterval indexed_bootstrap_ci(const IndexedMetricFn& metric, size_t n, int n_resamples,
                                       double alpha, uint64_t seed) {
  return paired_bootstrap_ci(metric, [](const std::vector<size_t>&) { return 0.0; }, n, n_resamples,
                             alpha, seed)
      .a;
}

Verdict verdict_of(const BootstrapInterval& difference, Direction direction) {
  if (std::isnan(difference.low) || std::isnan(difference.high)) return Verdict::kNoClearDifference;
  const bool above = difference.low > 0.0;
  const bool below = difference.high < 0.0;
  if (!above && !below) return Verdict::kNoClearDifference;
  return above == (direction == Direction::kHigherIsBetter) ? Verdict::kBetter : Verdict::kWorse;
}

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kBetter:
      return "better";
    case Verdict::kWorse:
      return "worse";
    case Verdict::kNoClearDifference:
      break;
  }
  return "no clear difference";
}

}  // namespace radflow::ml::metrics
