#include "plugins/ml/metrics/regression.h"

#include <gtest/gtest.h>

#include <cmath>

namespace radflow::ml::metrics {
namespace {

TEST(PearsonR, HandComputed) {
  // sxy = 6, sxx = 10, syy = 6 -> r = 6 / sqrt(60).
  EXPECT_NEAR(pearson_r({1, 2, 3, 4, 5}, {2, 4, 5, 4, 5}), 6.0 / std::sqrt(60.0), 1e-15);
  EXPECT_DOUBLE_EQ(pearson_r({1, 2, 3}, {-2, -4, -6}), -1.0);
}

TEST(PearsonR, InvariantToLargeOffsets) {
  EXPECT_NEAR(pearson_r({1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4, 1e9 + 5}, {2, 4, 5, 4, 5}),
              6.0 / std::sqrt(60.0), 1e-9);
}

TEST(PearsonR, DegenerateIsNan) {
  MetricWarning warning = MetricWarning::kNone;
  EXPECT_TRUE(std::isnan(pearson_r({1}, {2}, &warning)));
  EXPECT_EQ(warning, MetricWarning::kTooFewSamples);
  EXPECT_TRUE(std::isnan(pearson_r({1, 2, 3}, {4, 4, 4}, &warning)));
  EXPECT_EQ(warning, MetricWarning::kZeroVariance);
}

TEST(R2, SklearnDocExample) {
  // sklearn r2_score([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) = 0.948608137...
  // ss_res = 1.5, ss_tot = 29.1875.
  EXPECT_NEAR(r2({3, -0.5, 2, 7}, {2.5, 0.0, 2, 8}), 1.0 - 1.5 / 29.1875, 1e-15);
  EXPECT_NEAR(r2({3, -0.5, 2, 7}, {2.5, 0.0, 2, 8}), 0.9486081370449679, 1e-12);
}

TEST(R2, CanBeNegativeAndIsOneForPerfect) {
  EXPECT_DOUBLE_EQ(r2({1, 2, 3}, {1, 2, 3}), 1.0);
  EXPECT_DOUBLE_EQ(r2({1, 2, 3}, {3, 2, 1}), -3.0);  // ss_res 8, ss_tot 2
}

TEST(R2, DegenerateIsNan) {
  MetricWarning warning = MetricWarning::kNone;
  EXPECT_TRUE(std::isnan(r2({5, 5, 5}, {5, 5, 5}, &warning)));
  EXPECT_EQ(warning, MetricWarning::kZeroVariance);
  EXPECT_TRUE(std::isnan(r2({5}, {4}, &warning)));
  EXPECT_EQ(warning, MetricWarning::kTooFewSamples);
}

TEST(Mae, SklearnDocExample) {
  EXPECT_DOUBLE_EQ(mae({3, -0.5, 2, 7}, {2.5, 0.0, 2, 8}), 0.5);
  EXPECT_DOUBLE_EQ(mae({4}, {1}), 3.0);
  MetricWarning warning = MetricWarning::kNone;
  EXPECT_TRUE(std::isnan(mae({}, {}, &warning)));
  EXPECT_EQ(warning, MetricWarning::kEmptyInput);
}

}  // namespace
}  // namespace radflow::ml::metrics
