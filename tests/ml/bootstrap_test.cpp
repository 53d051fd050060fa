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

// The mean of `values` over the items of a resample.
IndexedMetricFn mean_of(const std::vector<double>& values) {
  return [&values](const std::vector<size_t>& items) {
    double sum = 0;
    for (size_t i : items) sum += values[i];
    return items.empty() ? std::nan("") : sum / static_cast<double>(items.size());
  };
}

// Normal draws (Box-Muller over Xoshiro256) with mean `mu` and standard deviation 1.
std::vector<double> normal_draws(Xoshiro256* rng, size_t n, double mu) {
  std::vector<double> out(n);
  for (auto& v : out) {
    const double u1 = (static_cast<double>(rng->uniform_below(1u << 30)) + 1.0) / (1u << 30);
    const double u2 = static_cast<double>(rng->uniform_below(1u << 30)) / (1u << 30);
    v = mu + std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  return out;
}

TEST(PairedBootstrap, IntervalOfAMeanCoversTheTrueMeanAbout95Percent) {
  // 200 samples of 60 normal draws with mean 0.5: the percentile interval of the mean
  // should hold 0.5 in about 95% of them (binomial sd ~1.5%; the percentile bootstrap
  // runs a little narrow at n = 60).
  Xoshiro256 rng(2024);
  int covered = 0;
  const int trials = 200;
  for (int t = 0; t < trials; ++t) {
    const std::vector<double> values = normal_draws(&rng, 60, 0.5);
    const BootstrapInterval ci = indexed_bootstrap_ci(mean_of(values), values.size(), 400, 0.05, 100 + t);
    if (ci.low <= 0.5 && 0.5 <= ci.high) ++covered;
  }
  EXPECT_GE(covered, static_cast<int>(0.89 * trials));
  EXPECT_LE(covered, static_cast<int>(0.99 * trials));
}

TEST(PairedBootstrap, OneSideMatchesBootstrapCiOfTheSameSeed) {
  std::vector<double> s;
  std::vector<int> y;
  make_data(5, 80, &s, &y);
  const BootstrapInterval plain = bootstrap_ci(mean_score, s, y, 300, 0.05, 9);
  const PairedBootstrap paired = paired_bootstrap_ci(mean_of(s), mean_of(s), s.size(), 300, 0.05, 9);
  EXPECT_DOUBLE_EQ(paired.a.point, plain.point);
  EXPECT_DOUBLE_EQ(paired.a.low, plain.low);
  EXPECT_DOUBLE_EQ(paired.a.high, plain.high);
  EXPECT_EQ(paired.a.n_valid, 300);
}

TEST(PairedBootstrap, BothPredictorsSeeTheSameResamples) {
  std::vector<std::vector<size_t>> seen_a, seen_b;
  const IndexedMetricFn a = [&](const std::vector<size_t>& items) {
    seen_a.push_back(items);
    return 1.0;
  };
  const IndexedMetricFn b = [&](const std::vector<size_t>& items) {
    seen_b.push_back(items);
    return 0.0;
  };
  const PairedBootstrap out = paired_bootstrap_ci(a, b, 25, 50, 0.05, 3);
  ASSERT_EQ(seen_a.size(), 51u);  // the full sample, then 50 resamples
  EXPECT_EQ(seen_a, seen_b);
  EXPECT_NE(seen_a[1], seen_a[2]);
  EXPECT_EQ(out.difference.n_valid, 50);
}

TEST(PairedBootstrap, ClearlyBetterPredictorExcludesZero) {
  // Per-item correctness: a right on 90% of 100 items, b on 60%.
  std::vector<double> a(100), b(100);
  for (size_t i = 0; i < 100; ++i) {
    a[i] = i % 10 != 0;
    b[i] = i % 10 < 6;
  }
  const PairedBootstrap out = paired_bootstrap_ci(mean_of(a), mean_of(b), 100, 1000, 0.05, 7);
  EXPECT_NEAR(out.difference.point, 0.3, 1e-12);
  EXPECT_GT(out.difference.low, 0.0);
  EXPECT_EQ(verdict_of(out.difference, Direction::kHigherIsBetter), Verdict::kBetter);
  EXPECT_EQ(verdict_of(out.difference, Direction::kLowerIsBetter), Verdict::kWorse);
  EXPECT_STREQ(verdict_name(verdict_of(out.difference, Direction::kHigherIsBetter)), "better");
}

TEST(PairedBootstrap, IdenticalPredictorsIncludeZero) {
  std::vector<double> s;
  std::vector<int> y;
  make_data(8, 90, &s, &y);
  const PairedBootstrap out = paired_bootstrap_ci(mean_of(s), mean_of(s), s.size(), 500, 0.05, 4);
  EXPECT_EQ(out.difference.low, 0.0);
  EXPECT_EQ(out.difference.high, 0.0);
  EXPECT_EQ(verdict_of(out.difference, Direction::kHigherIsBetter), Verdict::kNoClearDifference);
  EXPECT_STREQ(verdict_name(Verdict::kNoClearDifference), "no clear difference");
}

TEST(PairedBootstrap, PairingCancelsSharedItemDifficulty) {
  // b = a - 0.05 plus tiny noise, with items of very different difficulty: the
  // unpaired intervals overlap, the paired difference is clearly above 0.
  Xoshiro256 rng(11);
  std::vector<double> a = normal_draws(&rng, 80, 0.0), b(80);
  for (size_t i = 0; i < a.size(); ++i) b[i] = a[i] - 0.05 + 0.01 * ((i % 3) - 1.0);
  const PairedBootstrap out = paired_bootstrap_ci(mean_of(a), mean_of(b), a.size(), 500, 0.05, 2);
  EXPECT_LT(out.a.low, out.b.high);  // the separate intervals overlap
  EXPECT_GT(out.difference.low, 0.0);
}

TEST(PairedBootstrap, NanInEitherMetricSkipsTheResampleForAll) {
  int calls = 0;
  const IndexedMetricFn sometimes_nan = [&](const std::vector<size_t>&) {
    return ++calls % 2 == 0 ? std::nan("") : 1.0;
  };
  const IndexedMetricFn one = [](const std::vector<size_t>&) { return 1.0; };
  const PairedBootstrap out = paired_bootstrap_ci(one, sometimes_nan, 10, 40, 0.05, 1);
  EXPECT_EQ(out.a.n_valid, out.difference.n_valid);
  EXPECT_EQ(out.b.n_valid, out.difference.n_valid);
  EXPECT_EQ(out.difference.n_valid, 20);
  EXPECT_EQ(verdict_of(BootstrapInterval{0, std::nan(""), 1.0, 0}, Direction::kHigherIsBetter),
            Verdict::kNoClearDifference);
}

}  // namespace
}  // namespace radflow::ml::metrics
