#include "plugins/demographic-correlation/ridge_regression.h"

#include <gtest/gtest.h>

#include "plugins/ml/metrics/regression.h"

namespace radflow::ml::demographic {
namespace {

// y = 3 x0 - 2 x1 + 50 (+ noise) over 10-d Gaussian features.
std::pair<torch::Tensor, std::vector<double>> make(int64_t n, uint64_t seed, double noise) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto x = torch::randn({n, 10}, gen);
  auto e = torch::randn({n}, gen);
  std::vector<double> y;
  for (int64_t i = 0; i < n; ++i) {
    y.push_back(3 * x[i][0].item<double>() - 2 * x[i][1].item<double>() + 50 + noise * e[i].item<double>());
  }
  return {x, y};
}

TEST(RidgeRegression, RecoversALinearTargetAndPicksAlphaOnVal) {
  auto [xt, yt] = make(300, 1, 0.1);
  auto [xv, yv] = make(100, 2, 0.1);
  auto [xs, ys] = make(100, 3, 0.1);
  auto fit = ridge_regression(xt, yt, xv, yv, xs, {1e-3, 1e3, 1e6});
  ASSERT_TRUE(fit.ok()) << fit.status().to_string();
  EXPECT_EQ(fit->alpha, 1e-3);  // the heavy penalties shrink the signal away
  EXPECT_GT(fit->val_r2, 0.99);
  ASSERT_EQ(fit->test_predictions.size(), 100u);
  EXPECT_GT(metrics::r2(ys, fit->test_predictions), 0.99);
}

TEST(RidgeRegression, NoiseOnlyTargetsGiveNoSkillAndHeavyPenaltyWins) {
  auto [xt, yt] = make(200, 4, 0.1);
  auto [xv, yv] = make(100, 5, 0.1);
  auto [xs, ys] = make(100, 6, 0.1);
  auto gen = at::detail::createCPUGenerator(9);
  auto noise = [&](size_t n) {
    std::vector<double> v;
    auto t = torch::randn({static_cast<int64_t>(n)}, gen);
    for (size_t i = 0; i < n; ++i) v.push_back(t[i].item<double>());
    return v;
  };
  auto fit = ridge_regression(xt, noise(200), xv, noise(100), xs, {1e-3, 1e6});
  ASSERT_TRUE(fit.ok());
  EXPECT_EQ(fit->alpha, 1e6);
  EXPECT_LT(metrics::r2(noise(100), fit->test_predictions), 0.05);
}

TEST(RidgeRegression, BadInputsAreErrorsNotCrashes) {
  auto [x, y] = make(20, 7, 0.1);
  EXPECT_EQ(ridge_regression(x, y, x, y, x, {}).status().code(), "invalid_param");
  EXPECT_EQ(ridge_regression(x, y, x, y, x, {0.0}).status().code(), "invalid_param");
  EXPECT_EQ(ridge_regression(x.slice(0, 0, 1), {1.0}, x, y, x, {1.0}).status().code(), "empty_split");
  EXPECT_EQ(ridge_regression(x, {1.0, 2.0}, x, y, x, {1.0}).status().code(), "shape_mismatch");
  // Without val targets the first alpha stands.
  auto fit = ridge_regression(x, y, x.slice(0, 0, 0), {}, x, {10.0, 1.0});
  ASSERT_TRUE(fit.ok());
  EXPECT_EQ(fit->alpha, 10.0);
  EXPECT_TRUE(std::isnan(fit->val_r2));
}

}  // namespace
}  // namespace radflow::ml::demographic
