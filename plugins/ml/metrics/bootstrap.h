// bootstrap_ci(): percentile bootstrap confidence interval of a binary-label metric
// (auroc, average_precision, or any callable with the same signature).
//
// Each resample draws n indices uniformly with replacement (Xoshiro256 seeded with
// `seed`, so results are identical for a seed on every platform) and evaluates the
// metric. Resamples whose metric is NaN (e.g. a resample with one class for AUROC)
// are skipped and not replaced; n_valid says how many counted. low/high are the
// alpha/2 and 1 - alpha/2 percentiles of the valid values, interpolated linearly
// between order statistics like numpy.percentile's default. With no valid resample
// low and high are NaN. `point` is the metric on the original data.
//
// Metrics taking a MetricWarning* need a lambda:
//   bootstrap_ci([](auto& s, auto& l) { return auroc(s, l); }, scores, labels, 1000, 0.05, 7);
// Pure function of its arguments; thread-safe if metric_fn is.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace radflow::ml::metrics {

using BinaryMetricFn =
    std::function<double(const std::vector<double>& scores, const std::vector<int>& labels)>;

struct BootstrapInterval {
  double point = 0.0;
  double low = 0.0;
  double high = 0.0;
  int n_valid = 0;
};

// Preconditions (checked): equal lengths, n_resamples >= 0, 0 < alpha < 1.
BootstrapInterval bootstrap_ci(const BinaryMetricFn& metric_fn, const std::vector<double>& scores,
                               const std::vector<int>& labels, int n_resamples, double alpha,
                               uint64_t seed);

// A metric of a sample given as indices into the evaluated items (repeats allowed): the
// paired bootstrap evaluates two predictors' metrics on the very same resampled items.
using IndexedMetricFn = std::function<double(const std::vector<size_t>& items)>;

// Two predictors judged on the same n items: each one's interval, and the interval of
// the difference a - b, all from one set of resamples (resample r feeds the same index
// list to both metrics, so an item that is hard for both cancels out of the
// difference). A resample where either metric is NaN is skipped for all three.
struct PairedBootstrap {
  BootstrapInterval a;
  BootstrapInterval b;
  BootstrapInterval difference;  // a - b
};

// Preconditions (checked): n_resamples >= 0, 0 < alpha < 1. Same seed, same indices as
// bootstrap_ci() draws for n items.
PairedBootstrap paired_bootstrap_ci(const IndexedMetricFn& metric_a, const IndexedMetricFn& metric_b,
                                    size_t n, int n_resamples, double alpha, uint64_t seed);

// The percentile interval of one predictor's metric over the same resamples.
BootstrapInterval indexed_bootstrap_ci(const IndexedMetricFn& metric, size_t n, int n_resamples,
                                       double alpha, uint64_t seed);

// What a paired difference interval says: a better only when the interval lies wholly
// on a's better side of 0 (above it when higher is better), worse when wholly on the
// other side, otherwise no clear difference (a NaN bound too).
enum class Verdict { kBetter, kWorse, kNoClearDifference };
enum class Direction { kHigherIsBetter, kLowerIsBetter };
Verdict verdict_of(const BootstrapInterval& difference, Direction direction);
const char* verdict_name(Verdict verdict);  // "better", "worse", "no clear difference"

// The q-quantile (0 <= q <= 1) of `sorted_values` (ascending, non-empty) with linear
// interpolation between order statistics: numpy.percentile(v, 100 q).
double interpolated_quantile(const std::vector<double>& sorted_values, double q);

}  // namespace radflow::ml::metrics
