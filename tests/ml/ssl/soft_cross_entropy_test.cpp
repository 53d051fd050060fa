// soft_cross_entropy against the composed LibTorch ops it replaces: the same values and
// the same gradients, including targets that do not sum to one and a hand-computed row.
// (Mismatched shapes are a programmer error: RF_CHECK aborts.)
#include <gtest/gtest.h>

#include <cmath>

#include "plugins/ml/ssl/soft_cross_entropy.h"

namespace radflow::ml::ssl {
namespace {

TEST(SoftCrossEntropyTest, OneRowByHand) {
  // logits [0, ln 3] at temp 1: softmax [1/4, 3/4]; targets [1/2, 1/2].
  const torch::Tensor s = torch::tensor({{0.0, std::log(3.0)}}, torch::kFloat).requires_grad_(true);
  const torch::Tensor t = torch::tensor({{0.5, 0.5}}, torch::kFloat);
  const torch::Tensor ce = soft_cross_entropy(s, t, 1.0);
  EXPECT_NEAR(ce.item<double>(), -(0.5 * std::log(0.25) + 0.5 * std::log(0.75)), 1e-6);
  ce.sum().backward();
  EXPECT_NEAR(s.grad()[0][0].item<double>(), 0.25 - 0.5, 1e-6);  // p - t
  EXPECT_NEAR(s.grad()[0][1].item<double>(), 0.75 - 0.5, 1e-6);
}

TEST(SoftCrossEntropyTest, MatchesTheComposedOpsInValueAndGradient) {
  torch::manual_seed(11);
  const torch::Tensor logits = torch::randn({37, 300}) * 3;
  // Rows sum to 1 (softmax) except the last few, scaled, as a partial reduction could give.
  torch::Tensor targets = torch::softmax(torch::randn({37, 300}) / 0.04, -1);
  targets.narrow(0, 30, 7).mul_(0.7);
  const torch::Tensor upstream = torch::rand({37});
  const double temp = 0.1;

  const torch::Tensor a = logits.clone().requires_grad_(true);
  const torch::Tensor fused = soft_cross_entropy(a, targets, temp);
  (fused * upstream).sum().backward();

  const torch::Tensor b = logits.clone().requires_grad_(true);
  const torch::Tensor composed = -(targets * torch::log_softmax(b / temp, -1)).sum(-1);
  (composed * upstream).sum().backward();

  EXPECT_TRUE(torch::allclose(fused, composed, 1e-5, 1e-5)) << (fused - composed).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(a.grad(), b.grad(), 1e-5, 1e-6)) << (a.grad() - b.grad()).abs().max().item<double>();
}

TEST(SoftCrossEntropyTest, TargetsGetNoGradient) {
  const torch::Tensor s = torch::randn({4, 8}).requires_grad_(true);
  const torch::Tensor t = torch::softmax(torch::randn({4, 8}), -1).requires_grad_(true);
  soft_cross_entropy(s, t, 0.1).sum().backward();
  EXPECT_TRUE(s.grad().defined());
  EXPECT_FALSE(t.grad().defined());
}

}  // namespace
}  // namespace radflow::ml::ssl
