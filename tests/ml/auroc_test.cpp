#include "plugins/ml/metrics/auroc.h"

#include <gtest/gtest.h>

#include <cmath>

#include "plugins/ml/metrics/xoshiro256.h"

namespace radflow::ml::metrics {
namespace {

// Independent definition: the fraction of (positive, negative) pairs ordered
// correctly, ties counting one half. O(n^2), only for tests.
double pairwise_auroc(const std::vector<double>& s, const std::vector<int>& y) {
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    for (size_t j = 0; j < s.size(); ++j) {
      if (y[i] == 0 || y[j] != 0) continue;
      pairs += 1;
      wins += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
    }
  }
  return wins / pairs;
}

TEST(Auroc, SklearnDocExample) {
  // sklearn roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
  EXPECT_DOUBLE_EQ(auroc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);
}

TEST(Auroc, PerfectAndReversedRanking) {
  EXPECT_DOUBLE_EQ(auroc({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(auroc({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}), 0.0);
}

TEST(Auroc, TiesCountHalf) {
  EXPECT_DOUBLE_EQ(auroc({0.5, 0.5, 0.5, 0.5}, {0, 1, 0, 1}), 0.5);
  // Positives {0.7, 0.3, 0.3}, negatives {0.3, 0.1}: pairs won 2 + 1.5 + 1.5 = 5 of 6.
  EXPECT_DOUBLE_EQ(auroc({0.7, 0.3, 0.3, 0.3, 0.1}, {1, 1, 1, 0, 0}), 5.0 / 6.0);
}

TEST(Auroc, AnyNonZeroLabelIsPositive) {
  EXPECT_DOUBLE_EQ(auroc({0.1, 0.4, 0.35, 0.8}, {0, 0, 7, -1}), 0.75);
}

TEST(Auroc, MatchesPairwiseDefinitionOnRandomTiedData) {
  Xoshiro256 rng(42);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> s;
    std::vector<int> y;
    for (int i = 0; i < 60; ++i) {
      s.push_back(static_cast<double>(rng.uniform_below(8)) / 8.0);  // many ties
      y.push_back(static_cast<int>(rng.uniform_below(2)));
    }
    y[0] = 0;
    y[1] = 1;
    EXPECT_NEAR(auroc(s, y), pairwise_auroc(s, y), 1e-12) << "trial " << trial;
  }
}

TEST(Auroc, SingleClassIsNanWithWarning) {
  MetricWarning warning = MetricWarning::kNone;
  EXPECT_TRUE(std::isnan(auroc({0.1, 0.2}, {1, 1}, &warning)));
  EXPECT_EQ(warning, MetricWarning::kSingleClass);
  EXPECT_STREQ(to_string(warning), "single_class");
  EXPECT_TRUE(std::isnan(auroc({0.1, 0.2}, {0, 0}, &warning)));
  EXPECT_EQ(warning, MetricWarning::kSingleClass);
  EXPECT_TRUE(std::isnan(auroc({}, {}, &warning)));
  EXPECT_EQ(warning, MetricWarning::kEmptyInput);
}

TEST(Auroc, NanScoreIsNanWithWarning) {
  MetricWarning warning = MetricWarning::kNone;
  EXPECT_TRUE(std::isnan(auroc({0.1, NAN, 0.3}, {0, 1, 1}, &warning)));
  EXPECT_EQ(warning, MetricWarning::kNanScore);
}

TEST(Auroc, ClearsWarningOnSuccess) {
  MetricWarning warning = MetricWarning::kSingleClass;
  auroc({0.1, 0.9}, {0, 1}, &warning);
  EXPECT_EQ(warning, MetricWarning::kNone);
}

}  // namespace
}  // namespace radflow::ml::metrics
