// attention_core (the CPU attention kernel) against the plain ATen formula: outputs and
// gradients agree to float rounding, alone and inside a ViT, and bad shapes are named.
#include <gtest/gtest.h>

#include "plugins/ml/torch/attention_core.h"
#include "plugins/ml/torch/vit.h"

namespace radflow::ml {
namespace {

// softmax(Q K^T / sqrt(d)) V with heads concatenated: the matmul path of AttentionImpl.
torch::Tensor reference_attention(const torch::Tensor& qkv, int64_t heads) {
  const int64_t b = qkv.size(0), n = qkv.size(1), c = qkv.size(2) / 3, d = c / heads;
  auto parts = qkv.reshape({b, n, 3, heads, d}).permute({2, 0, 3, 1, 4});
  auto attn = torch::matmul(parts[0], parts[1].transpose(-2, -1)) / std::sqrt(static_cast<double>(d));
  return torch::matmul(attn.softmax(-1), parts[2]).transpose(1, 2).reshape({b, n, c});
}

TEST(AttentionCoreTest, ForwardAndGradientsMatchTheMatmulFormula) {
  torch::manual_seed(3);
  // Odd sizes on purpose: 17 tokens, 4 heads of 6 channels, 3 images.
  const torch::Tensor input = torch::randn({3, 17, 3 * 24}) * 2;
  const torch::Tensor upstream = torch::randn({3, 17, 24});

  torch::Tensor a = input.clone().requires_grad_(true);
  torch::Tensor out = attention_core(a, 4);
  (out * upstream).sum().backward();

  torch::Tensor b = input.clone().requires_grad_(true);
  torch::Tensor expected = reference_attention(b, 4);
  (expected * upstream).sum().backward();

  ASSERT_EQ(out.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-6)) << (out - expected).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(a.grad(), b.grad(), 1e-4, 1e-5)) << (a.grad() - b.grad()).abs().max().item<double>();
  // Every part of qkv receives a gradient (q, k and v all matter).
  for (int64_t part = 0; part < 3; ++part) {
    EXPECT_GT(a.grad().narrow(2, part * 24, 24).abs().sum().item<double>(), 0.0) << "part " << part;
  }
}

TEST(AttentionCoreTest, NonContiguousInputIsHandled) {
  torch::manual_seed(4);
  const torch::Tensor wide = torch::randn({2, 9, 2 * 3 * 8});
  const torch::Tensor view = wide.narrow(2, 0, 3 * 8);  // strided: not contiguous
  ASSERT_FALSE(view.is_contiguous());
  EXPECT_TRUE(torch::allclose(attention_core(view, 2), reference_attention(view.contiguous(), 2), 1e-5, 1e-6));
}

TEST(AttentionCoreTest, ViTWithTheCpuCoreMatchesTheManualPathInOutputsAndGradients) {
  torch::manual_seed(5);
  const torch::Tensor images = torch::randn({2, 3, 56, 56});
  auto run = [&](AttentionBackend backend) {
    torch::manual_seed(6);
    VisionTransformer m(vit_tiny_test(2, 1));
    m->set_attention_backend(backend);
    const ViTOutput out = m->forward(images);
    (out.cls.square().sum() + out.patch_tokens.mean()).backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : m->parameters()) {  // the mask token is unused without masks
      grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    }
    return std::make_pair(out.patch_tokens.detach(), grads);
  };
  const auto [manual_tokens, manual_grads] = run(AttentionBackend::kManual);
  const auto [core_tokens, core_grads] = run(AttentionBackend::kCpuCore);
  EXPECT_TRUE(torch::allclose(manual_tokens, core_tokens, 1e-4, 1e-5));
  ASSERT_EQ(manual_grads.size(), core_grads.size());
  for (size_t i = 0; i < manual_grads.size(); ++i) {
    EXPECT_TRUE(torch::allclose(manual_grads[i], core_grads[i], 1e-3, 1e-5))
        << "parameter " << i << ": " << (manual_grads[i] - core_grads[i]).abs().max().item<double>();
  }
}

TEST(AttentionCoreTest, PaysOffForViTSizedProductsNotForTheTinyDemo) {
  EXPECT_TRUE(attention_core_pays_off(197, 64));    // ViT-S/14 at 224
  EXPECT_TRUE(attention_core_pays_off(1370, 64));   // ViT-B/14 at 518
  EXPECT_FALSE(attention_core_pays_off(65, 24));    // the demo's tiny ViT, global crops
  EXPECT_FALSE(attention_core_pays_off(17, 16));    // vit_tiny_test
}

TEST(AttentionCoreTest, RejectsWhatItCannotRun) {
  EXPECT_FALSE(attention_core_supports(torch::zeros({1, 4, 12}, torch::kDouble)));
  EXPECT_FALSE(attention_core_supports(torch::zeros({4, 12})));
  try {
    attention_core(torch::zeros({1, 4, 12}), 5);
    FAIL() << "12 channels cannot be 3 x 5 heads";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("5 heads"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace radflow::ml
