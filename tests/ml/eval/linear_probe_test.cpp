#include "plugins/ml/eval/linear_probe.h"

#include <gtest/gtest.h>

#include <cmath>

namespace radflow::ml::eval {
namespace {

// Gaussian features; finding "linear" depends on x0 + x1, "weak" on x2 with heavy
// noise, "random" on nothing, "constant" is always 0 (one class).
ProbeSplit make_split(int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto x = torch::randn({n, 12}, gen);
  auto noise = torch::randn({n, 3}, gen);
  auto labels = torch::zeros({n, 4}, torch::kInt64);
  labels.select(1, 0) = ((x.select(1, 0) + x.select(1, 1) + 0.3 * noise.select(1, 0)) > 0).to(torch::kInt64);
  labels.select(1, 1) = ((x.select(1, 2) + 1.5 * noise.select(1, 1)) > 0.5).to(torch::kInt64);
  labels.select(1, 2) = (noise.select(1, 2) > 0).to(torch::kInt64);
  return {x, labels};
}

const std::vector<std::string> kFindings = {"linear", "weak", "random", "constant"};

ProbeOptions fast_options() {
  ProbeOptions options;
  options.weight_decays = {1e-4, 1e-2};
  options.max_iterations = 50;
  options.bootstrap_resamples = 200;
  options.seed = 3;
  return options;
}

TEST(LinearProbe, LearnsWhatTheFeaturesCarryAndNothingMore) {
  auto result = linear_probe(make_split(600, 1), make_split(200, 2), make_split(400, 3), kFindings,
                             fast_options());
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  const auto& f = result->findings;
  ASSERT_EQ(f.size(), 4u);
  EXPECT_GT(f[0].auroc, 0.97);
  EXPECT_GT(f[0].auprc, 0.95);
  EXPECT_GT(f[1].auroc, 0.6);
  EXPECT_LT(f[1].auroc, f[0].auroc);
  EXPECT_NEAR(f[2].auroc, 0.5, 0.1);
  // The interval contains the point estimate and is ordered.
  EXPECT_LE(f[0].auroc_ci.low, f[0].auroc);
  EXPECT_GE(f[0].auroc_ci.high, f[0].auroc);
  EXPECT_EQ(f[0].auroc_ci.n_valid, 200);
  EXPECT_EQ(f[0].test_scores.size(), 400u);
  EXPECT_EQ(f[0].test_count, 400);
}

TEST(LinearProbe, OneClassFindingIsNanWithAWarningNotACrash) {
  auto result = linear_probe(make_split(300, 1), make_split(100, 2), make_split(100, 3), kFindings,
                             fast_options());
  ASSERT_TRUE(result.ok());
  const auto& constant = result->findings[3];
  EXPECT_TRUE(std::isnan(constant.auroc));
  EXPECT_TRUE(std::isnan(constant.auprc));
  EXPECT_NE(constant.warning.find("one class in the train split"), std::string::npos);
  // Macro averages skip it.
  EXPECT_EQ(result->macro_count, 3);
  EXPECT_FALSE(std::isnan(result->macro_auroc));
}

TEST(LinearProbe, UnknownLabelsAreIgnoredAndScoredAsNan) {
  auto test = make_split(100, 3);
  test.labels[0][0] = -1;
  auto result = linear_probe(make_split(300, 1), make_split(100, 2), test, kFindings, fast_options());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->findings[0].test_count, 99);
  EXPECT_TRUE(std::isnan(result->findings[0].test_scores[0]));
}

TEST(LinearProbe, DeterministicForASeed) {
  auto a = linear_probe(make_split(300, 1), make_split(100, 2), make_split(100, 3), kFindings, fast_options());
  auto b = linear_probe(make_split(300, 1), make_split(100, 2), make_split(100, 3), kFindings, fast_options());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->findings[0].auroc_ci.low, b->findings[0].auroc_ci.low);
  EXPECT_EQ(a->findings[1].test_scores, b->findings[1].test_scores);
}

TEST(LinearProbe, EmptySplitAndMismatchedShapesAreErrors) {
  ProbeSplit empty{torch::zeros({0, 12}), torch::zeros({0, 4}, torch::kInt64)};
  auto result = linear_probe(make_split(100, 1), empty, make_split(100, 3), kFindings, fast_options());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), "empty_split");
  EXPECT_EQ(result.status().err().path, "val");
  auto names = linear_probe(make_split(100, 1), make_split(100, 2), make_split(100, 3),
                            {"only", "three", "names"}, fast_options());
  ASSERT_FALSE(names.ok());
  EXPECT_EQ(names.status().code(), "shape_mismatch");
}

}  // namespace
}  // namespace radflow::ml::eval
