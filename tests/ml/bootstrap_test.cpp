#include "plugins/ml/metrics/bootstrap.h"

#include <gtest/gtest.h>

#include <cmath>

#include "plugins/ml/metrics/auroc.h"
#include "plugins/ml/metrics/xoshiro256.h"

namespace radflow::ml::metrics {
namespace {

double auroc_fn(const std::vector<double>& s, const std::vector<int>& y) { return auroc(s, y); }

double mean_score(const std::vector<double>& s, const std::vector<int>&) {
  double sum = 0;
  for (double v : s) sum += v;
  return sum / static_cast<double>(s.size());
}

void make_data(uint64_t seed, int n, std::vector<double>* s, std::vector<int>* y) {
  Xoshiro256 rng(seed);
  for (int i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng.uniform_below(2));
    y->push_back(label);
    s->push_back(static_cast<double>(rng.uniform_below(1000)) / 1000.0 + 0.3 * label);
  }
}

TEST(Xoshiro256, SplitmixKnownValue) {
  // First splitmix64 output for state 0 (Vigna's reference implementation).
  uint64_t state = 0;
  EXPECT_EQ(splitmix64_next(&state), 0xE220A8397B1DCDAFULL);
}

TEST(Xoshiro256, UniformBelowStaysInRangeAndCoversIt) {
  Xoshiro256 rng(1);
  std::vector<int> seen(7, 0);
  for (int i = 0; i < 7000; ++i) {
    const uint64_t v = rng.uniform_below(7);
    ASSERT_LT(v, 7u);
    ++seen[v];
  }
  for (int count : seen) EXPECT_GT(count, 800);
}

TEST(InterpolatedQuantile, MatchesNumpyPercentile) {
  EXPECT_DOUBLE_EQ(interpolated_quantile({1, 2, 3, 4}, 0.25), 1.75);  // np.percentile(.., 25)
  EXPECT_DOUBLE_EQ(interpolated_quantile({1, 2, 3, 4, 5}, 0.025), 1.1);
  EXPECT_DOUBLE_EQ(interpolated_quantile({1, 2, 3, 4, 5}, 0.975), 4.9);
  EXPECT_DOUBLE_EQ(interpolated_quantile({3}, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(interpolated_quantile({1, 10}, 1.0), 10.0);
}

TEST(BootstrapCi, DeterministicForASeed) {
  std::vector<double> s;
  std::vector<int> y;
  make_data(3, 80, &s, &y);
  const BootstrapInterval a = bootstrap_ci(auroc_fn, s, y, 200, 0.05, 11);
  const BootstrapInterval b = bootstrap_ci(auroc_fn, s, y, 200, 0.05, 11);
  const BootstrapInterval c = bootstrap_ci(auroc_fn, s, y, 200, 0.05, 12);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  EXPECT_EQ(a.n_valid, b.n_valid);
  EXPECT_TRUE(a.low != c.low || a.high != c.high);
}

TEST(BootstrapCi, PointIsMetricOnFullDataAndInsideInterval) {
  std::vector<double> s;
  std::vector<int> y;
  make_data(5, 120, &s, &y);
  const BootstrapInterval ci = bootstrap_ci(auroc_fn, s, y, 300, 0.05, 1);
  EXPECT_DOUBLE_EQ(ci.point, auroc(s, y));
  EXPECT_EQ(ci.n_valid, 300);
  EXPECT_LT(ci.low, ci.point);
  EXPECT_GT(ci.high, ci.point);
  EXPECT_GT(ci.low, 0.5);  // the scores carry real signal
  // A wider alpha gives a narrower interval from the same resamples.
  const BootstrapInterval narrow = bootstrap_ci(auroc_fn, s, y, 300, 0.5, 1);
  EXPECT_GE(narrow.low, ci.low);
  EXPECT_LE(narrow.high, ci.high);
}

TEST(BootstrapCi, SkipsNanResamplesAndCountsValidOnes) {
  // One positive among 10: resamples that miss it (or draw only it) give NaN AUROC.
  const std::vector<double> s = {0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.05};
  const std::vector<int> y = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const int n_resamples = 500;
  const uint64_t seed = 99;
  const BootstrapInterval ci = bootstrap_ci(auroc_fn, s, y, n_resamples, 0.1, seed);
  // Replay the documented sampling to count resamples that hold both classes.
  Xoshiro256 rng(seed);
  int expected_valid = 0;
  for (int r = 0; r < n_resamples; ++r) {
    int positives = 0;
    for (size_t i = 0; i < s.size(); ++i) positives += y[rng.uniform_below(s.size())];
    expected_valid += positives > 0 && positives < static_cast<int>(s.size());
  }
  EXPECT_EQ(ci.n_valid, expected_valid);
  EXPECT_LT(ci.n_valid, n_resamples);
  EXPECT_GT(ci.n_valid, 0);
  EXPECT_DOUBLE_EQ(ci.high, 1.0);  // the positive outranks every negative
}

TEST(BootstrapCi, AllResamplesNanGiveNanBounds) {
  const BootstrapInterval ci = bootstrap_ci(auroc_fn, {0.1, 0.2, 0.3}, {1, 1, 1}, 50, 0.05, 1);
  EXPECT_TRUE(std::isnan(ci.point));
  EXPECT_TRUE(std::isnan(ci.low));
  EXPECT_TRUE(std::isnan(ci.high));
  EXPECT_EQ(ci.n_valid, 0);
}

TEST(BootstrapCi, ConstantMetricGivesDegenerateInterval) {
  const BootstrapInterval ci = bootstrap_ci(mean_score, {2, 2, 2, 2}, {0, 1, 0, 1}, 40, 0.05, 4);
  EXPECT_DOUBLE_EQ(ci.point, 2.0);
  EXPECT_DOUBLE_EQ(ci.low, 2.0);
  EXPECT_DOUBLE_EQ(ci.high, 2.0);
  EXPECT_EQ(ci.n_valid, 40);
}

TEST(BootstrapCi, MeanIntervalBracketsTheMean) {
  std::vector<double> s;
  std::vector<int> y;
  make_data(8, 200, &s, &y);
  const BootstrapInterval ci = bootstrap_ci(mean_score, s, y, 400, 0.05, 2);
  EXPECT_LT(ci.low, ci.point);
  EXPECT_GT(ci.high, ci.point);
  EXPECT_LT(ci.high - ci.low, 0.2);  // ~4 standard errors of a mean of 200 values in [0, 1.3]
}

}  // namespace
}  // namespace radflow::ml::metrics
