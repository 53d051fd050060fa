#include "plugins/ml/ssl/dino_head.h"

#include <set>

#include <gtest/gtest.h>

namespace radflow::ml::ssl {
namespace {

DinoHeadOptions tiny() {
  DinoHeadOptions o;
  o.in_dim = 8;
  o.hidden_dim = 16;
  o.bottleneck_dim = 4;
  o.out_dim = 10;
  return o;
}

TEST(DinoHead, Dinov2StateDictNamesAndShapes) {
  torch::manual_seed(0);
  DinoHead head(tiny());
  std::map<std::string, std::vector<int64_t>> expected = {
      {"mlp.0.weight", {16, 8}}, {"mlp.0.bias", {16}},   {"mlp.2.weight", {16, 16}},
      {"mlp.2.bias", {16}},      {"mlp.4.weight", {4, 16}}, {"mlp.4.bias", {4}},
      {"last_layer.weight_g", {10, 1}}, {"last_layer.weight_v", {10, 4}}};
  const auto params = head->named_parameters();
  ASSERT_EQ(params.size(), expected.size());
  int64_t total = 0;
  for (const auto& item : params) {
    ASSERT_TRUE(expected.count(item.key())) << item.key();
    EXPECT_EQ(item.value().sizes().vec(), expected[item.key()]) << item.key();
    total += item.value().numel();
  }
  EXPECT_EQ(total, dino_head_parameter_count(tiny()));
  EXPECT_TRUE(torch::equal(head->last_layer->weight_g, torch::ones({10, 1})));
  EXPECT_TRUE(head->last_layer->weight_g.requires_grad());  // DINOv2 keeps g trainable
  EXPECT_EQ(head->mlp[0]->as<torch::nn::Linear>()->bias.abs().sum().item<float>(), 0.0f);
}

TEST(DinoHead, RadDinoHeadParameterCount) {
  EXPECT_EQ(dino_head_parameter_count(DinoHeadOptions{}), 23138560);
  DinoHead head(DinoHeadOptions{});
  int64_t total = 0;
  for (const auto& p : head->parameters()) total += p.numel();
  EXPECT_EQ(total, 23138560);
}

TEST(DinoHead, ForwardMatchesHandWrittenComputation) {
  torch::manual_seed(1);
  DinoHead head(tiny());
  {
    torch::NoGradGuard g;
    head->last_layer->weight_g.uniform_(0.5, 2.0);
  }
  const torch::Tensor x = torch::randn({5, 8});
  namespace F = torch::nn::functional;
  auto lin = [&](int i) { return head->mlp[static_cast<size_t>(i)]->as<torch::nn::Linear>(); };
  torch::Tensor h = F::gelu(F::linear(x, lin(0)->weight, lin(0)->bias));
  h = F::gelu(F::linear(h, lin(2)->weight, lin(2)->bias));
  h = F::linear(h, lin(4)->weight, lin(4)->bias);
  h = h / h.norm(2, {1}, true);
  const torch::Tensor v = head->last_layer->weight_v, g = head->last_layer->weight_g;
  const torch::Tensor w = v / v.norm(2, {1}, true) * g;
  const torch::Tensor expected = h.matmul(w.t());
  EXPECT_TRUE(torch::allclose(head->forward(x), expected, 1e-5, 1e-6));
  // Unit bottleneck and row norms g: every logit k lies in [-g_k, g_k].
  EXPECT_TRUE((head->forward(x).abs() <= g.t() + 1e-5).all().item<bool>());
}

TEST(DinoHead, FixedWeightGOptionAndSingleLayerMlp) {
  DinoHeadOptions o = tiny();
  o.train_weight_g = false;
  o.nlayers = 1;
  DinoHead head(o);
  EXPECT_FALSE(head->last_layer->weight_g.requires_grad());
  EXPECT_EQ(head->forward(torch::randn({2, 8})).sizes(), (std::vector<int64_t>{2, 10}));
  int64_t total = 0;
  for (const auto& p : head->parameters()) total += p.numel();
  EXPECT_EQ(total, dino_head_parameter_count(o));
}

}  // namespace
}  // namespace radflow::ml::ssl
