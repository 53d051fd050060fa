#include "plugins/ml/torch/vit.h"

#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

namespace radflow::ml {
namespace {

namespace F = torch::nn::functional;

torch::Tensor images(int64_t b, int64_t h, int64_t w, uint64_t seed = 1) {
  torch::manual_seed(seed);
  return torch::randn({b, 3, h, w});
}

VisionTransformer tiny(ViTConfig c = vit_tiny_test(), uint64_t seed = 0) {
  torch::manual_seed(seed);
  VisionTransformer m(c);
  m->eval();
  return m;
}

TEST(ViTTest, OutputShapesWithoutRegisters) {
  auto m = tiny();
  torch::NoGradGuard g;
  auto out = m->forward(images(2, 56, 56));
  EXPECT_EQ(out.cls.sizes(), torch::IntArrayRef({2, 64}));
  EXPECT_EQ(out.patch_tokens.sizes(), torch::IntArrayRef({2, 16, 64}));
  EXPECT_EQ(out.register_tokens.sizes(), torch::IntArrayRef({2, 0, 64}));
  EXPECT_EQ(out.prenorm.sizes(), torch::IntArrayRef({2, 17, 64}));
  EXPECT_EQ(patch_tokens_to_map(out.patch_tokens, 4, 4).sizes(), torch::IntArrayRef({2, 64, 4, 4}));
  EXPECT_TRUE(torch::isfinite(out.patch_tokens).all().item<bool>());
}

TEST(ViTTest, OutputShapesWithRegistersAndOtherGrid) {
  auto m = tiny(vit_tiny_test(2, 4));
  torch::NoGradGuard g;
  auto out = m->forward(images(2, 42, 70));  // 3x5 grid: interpolated pos embed
  EXPECT_EQ(out.grid_h, 3);
  EXPECT_EQ(out.grid_w, 5);
  EXPECT_EQ(out.cls.sizes(), torch::IntArrayRef({2, 64}));
  EXPECT_EQ(out.register_tokens.sizes(), torch::IntArrayRef({2, 4, 64}));
  EXPECT_EQ(out.patch_tokens.sizes(), torch::IntArrayRef({2, 15, 64}));
  EXPECT_EQ(out.prenorm.sizes(), torch::IntArrayRef({2, 20, 64}));
}

TEST(ViTTest, RegistersSitBetweenClsAndPatchesWithoutPosEmbed) {
  auto m = tiny(vit_tiny_test(1, 2));
  torch::NoGradGuard g;
  auto x = images(1, 56, 56);
  auto tokens = m->prepare_tokens(x, {});
  ASSERT_EQ(tokens.size(1), 1 + 2 + 16);
  EXPECT_TRUE(torch::equal(tokens.narrow(1, 1, 2), m->register_tokens));
  auto pos = m->pos_embed;
  EXPECT_TRUE(torch::allclose(tokens.select(1, 0), (m->cls_token + pos.narrow(1, 0, 1)).select(1, 0)));
  EXPECT_TRUE(torch::allclose(tokens.narrow(1, 3, 16), m->patch_embed(x) + pos.narrow(1, 1, 16)));
}

TEST(ViTTest, IntermediateLayersNormedOrRaw) {
  auto m = tiny(vit_tiny_test(3));
  torch::NoGradGuard g;
  auto x = images(2, 56, 56);
  ViTForwardOptions raw{{0, -1}, IntermediateNorm::kRaw};
  auto out = m->forward(x, {}, raw);
  ASSERT_EQ(out.intermediates.size(), 2u);
  EXPECT_EQ(out.intermediates[0].layer, 0);
  EXPECT_EQ(out.intermediates[1].layer, 2);
  EXPECT_TRUE(torch::equal(out.intermediates[1].patch_tokens, out.prenorm.narrow(1, 1, 16)));
  EXPECT_FALSE(torch::allclose(out.intermediates[0].cls, out.intermediates[1].cls));
  auto normed = m->forward(x, {}, ViTForwardOptions{{-1}, IntermediateNorm::kNormed});
  EXPECT_TRUE(torch::allclose(normed.intermediates[0].patch_tokens, normed.patch_tokens));
  EXPECT_TRUE(torch::allclose(normed.intermediates[0].cls, normed.cls));
  EXPECT_THROW(m->forward(x, {}, ViTForwardOptions{{3}, IntermediateNorm::kRaw}), c10::Error);
}

TEST(ViTTest, RejectsBadInputs) {
  auto m = tiny();
  torch::NoGradGuard g;
  EXPECT_THROW(m->forward(images(1, 50, 56)), c10::Error);
  EXPECT_THROW(m->forward(images(1, 56, 56), torch::zeros({1, 15}, torch::kBool)), c10::Error);
  ViTConfig no_mask = vit_tiny_test();
  no_mask.use_mask_token = false;
  auto m2 = tiny(no_mask);
  EXPECT_THROW(m2->forward(images(1, 56, 56), torch::zeros({1, 16}, torch::kBool)), c10::Error);
}

TEST(ViTTest, PosEmbedIsIdentityAtNativeGridForEveryVariant) {
  for (auto mode : {PosEmbedInterpolation::kDinov2Offset, PosEmbedInterpolation::kDinov2Antialias,
                    PosEmbedInterpolation::kHuggingFace}) {
    ViTConfig c = vit_tiny_test();
    c.pos_embed_interpolation = mode;
    auto m = tiny(c);
    EXPECT_TRUE(torch::equal(m->interpolate_pos_encoding(4, 4), m->pos_embed)) << to_string(mode);
    auto other = m->interpolate_pos_encoding(3, 6);
    EXPECT_EQ(other.sizes(), torch::IntArrayRef({1, 1 + 18, 64})) << to_string(mode);
    EXPECT_TRUE(torch::equal(other.narrow(1, 0, 1), m->pos_embed.narrow(1, 0, 1))) << to_string(mode);
  }
}

// Variants as documented in research/raddino-method.md §1.2: HF = plain bicubic to the
// target size; the other two give the same shape but other numbers, up and down (torch's
// antialiased bicubic also switches to the PIL kernel, a = -0.5, so it differs even
// when upsampling).
TEST(ViTTest, PosEmbedVariantsDifferAsDocumented) {
  auto with_mode = [](PosEmbedInterpolation mode, int64_t gh, int64_t gw) {
    ViTConfig c = vit_tiny_test();
    c.image_size = 70;  // native 5x5
    c.pos_embed_interpolation = mode;
    auto m = tiny(c, /*seed=*/7);
    torch::NoGradGuard g;
    return std::make_pair(m->interpolate_pos_encoding(gh, gw), m->pos_embed.clone());
  };
  auto [hf_up, pos] = with_mode(PosEmbedInterpolation::kHuggingFace, 7, 8);
  auto grid = pos.narrow(1, 1, 25).reshape({1, 5, 5, 64}).permute({0, 3, 1, 2});
  auto manual = F::interpolate(grid, F::InterpolateFuncOptions()
                                         .size(std::vector<int64_t>{7, 8})
                                         .mode(torch::kBicubic)
                                         .align_corners(false));
  EXPECT_TRUE(torch::allclose(hf_up.narrow(1, 1, 56), manual.permute({0, 2, 3, 1}).reshape({1, 56, 64})));

  auto aa_up = with_mode(PosEmbedInterpolation::kDinov2Antialias, 7, 8).first;
  auto off_up = with_mode(PosEmbedInterpolation::kDinov2Offset, 7, 8).first;
  EXPECT_EQ(aa_up.sizes(), hf_up.sizes());
  EXPECT_FALSE(torch::allclose(aa_up, hf_up, 1e-4, 1e-5));
  EXPECT_FALSE(torch::allclose(off_up, hf_up, 1e-4, 1e-5));

  auto hf_down = with_mode(PosEmbedInterpolation::kHuggingFace, 3, 3).first;
  auto aa_down = with_mode(PosEmbedInterpolation::kDinov2Antialias, 3, 3).first;
  auto off_down = with_mode(PosEmbedInterpolation::kDinov2Offset, 3, 3).first;
  EXPECT_EQ(aa_down.sizes(), hf_down.sizes());
  EXPECT_EQ(off_down.sizes(), hf_down.sizes());
  EXPECT_FALSE(torch::allclose(aa_down, hf_down, 1e-4, 1e-5));
  EXPECT_FALSE(torch::allclose(off_down, hf_down, 1e-4, 1e-5));
}

// Torch's bicubic along one axis written out (a = -0.75, align_corners false, border
// taps clamped): output i samples the source at (i + 0.5) * ratio - 0.5. Returns the
// [out, in] weight matrix.
torch::Tensor cubic_resample_matrix(int64_t in, int64_t out, double ratio) {
  const double a = -0.75;
  auto near = [a](double x) { return ((a + 2) * x - (a + 3)) * x * x + 1; };    // |x| <= 1
  auto far = [a](double x) { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; };  // 1 < |x| < 2
  auto w = torch::zeros({out, in}, torch::kDouble);
  for (int64_t i = 0; i < out; ++i) {
    const double real = (static_cast<double>(i) + 0.5) * ratio - 0.5;
    const auto x0 = static_cast<int64_t>(std::floor(real));
    const double t = real - static_cast<double>(x0);
    const double taps[4] = {far(t + 1), near(t), near(1 - t), far(2 - t)};
    for (int64_t k = 0; k < 4; ++k) {
      const int64_t src = std::min<int64_t>(std::max<int64_t>(x0 - 1 + k, 0), in - 1);
      w[i][src] += taps[k];
    }
  }
  return w;
}

// Continued pretraining from a 518-px checkpoint: the 37x37 grid is resized for the
// 224-px global (16x16) and 98-px local (7x7) crops as DINOv2's training backbone
// does (interpolate_offset 0.1, no antialias): the scale factor (h0 + 0.1) / 37, not
// the target size, sets the sampling grid, so source = (i + 0.5) * 37 / (h0 + 0.1) - 0.5.
TEST(ViTTest, Dinov2OffsetResizeOfA37GridMatchesAWrittenOutBicubic) {
  ViTConfig c = vit_tiny_test(1);
  c.embed_dim = 8, c.num_heads = 2, c.image_size = 518;
  ASSERT_EQ(c.pos_embed_interpolation, PosEmbedInterpolation::kDinov2Offset);  // the default
  auto m = tiny(c, /*seed=*/3);
  torch::NoGradGuard g;
  EXPECT_TRUE(torch::equal(m->interpolate_pos_encoding(37, 37), m->pos_embed));  // native: identity
  const torch::Tensor grid = m->pos_embed.narrow(1, 1, 37 * 37).reshape({37, 37, 8}).to(torch::kDouble);
  for (int64_t h0 : {16, 7}) {
    const torch::Tensor w = cubic_resample_matrix(37, h0, 37.0 / (h0 + 0.1));
    // out[i, j, d] = sum_yx w[i, y] w[j, x] grid[y, x, d]
    const torch::Tensor expected = torch::einsum("iy,jx,yxd->ijd", {w, w, grid}).reshape({1, h0 * h0, 8});
    const torch::Tensor got = m->interpolate_pos_encoding(h0, h0);
    ASSERT_EQ(got.sizes(), torch::IntArrayRef({1, 1 + h0 * h0, 8}));
    EXPECT_TRUE(torch::equal(got.narrow(1, 0, 1), m->pos_embed.narrow(1, 0, 1)));  // CLS row kept
    EXPECT_TRUE(torch::allclose(got.narrow(1, 1, h0 * h0).to(torch::kDouble), expected, 1e-5, 1e-6)) << h0;
    // The offset matters: sampling at ratio 37 / h0 (the target-size form) differs.
    const torch::Tensor w_size = cubic_resample_matrix(37, h0, 37.0 / h0);
    const torch::Tensor by_size = torch::einsum("iy,jx,yxd->ijd", {w_size, w_size, grid}).reshape({1, h0 * h0, 8});
    EXPECT_FALSE(torch::allclose(by_size, expected, 1e-4, 1e-5)) << h0;
  }
  // A forward at 224 and 98 runs on the 518 model.
  EXPECT_EQ(m->forward(torch::zeros({1, 3, 224, 224})).patch_tokens.size(1), 256);
  EXPECT_EQ(m->forward(torch::zeros({1, 3, 98, 98})).patch_tokens.size(1), 49);
}

TEST(ViTTest, MaskTokenReplacesExactlyTheMaskedPatches) {
  auto m = tiny();
  torch::NoGradGuard g;
  m->mask_token.normal_();  // zero at init; make it distinguishable
  auto x = images(2, 56, 56);
  torch::manual_seed(3);
  auto masks = torch::rand({2, 16}) < 0.4;
  ASSERT_GT(masks.sum().item<int64_t>(), 0);
  auto tokens = m->prepare_tokens(x, masks);

  auto patches = m->patch_embed(x);
  auto expected = patches.clone();
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t n = 0; n < 16; ++n) {
      if (masks[b][n].item<bool>()) expected[b][n] = m->mask_token[0];
    }
  }
  expected = torch::cat({m->cls_token.expand({2, -1, -1}), expected}, 1) + m->pos_embed;
  EXPECT_TRUE(torch::allclose(tokens, expected));

  auto unmasked = m->prepare_tokens(x, {});
  auto keep = (~masks).unsqueeze(-1).expand({2, 16, 64});
  EXPECT_TRUE(torch::equal(tokens.narrow(1, 1, 16).masked_select(keep), unmasked.narrow(1, 1, 16).masked_select(keep)));
  auto none = torch::zeros({2, 16}, torch::kBool);
  EXPECT_TRUE(torch::equal(m->prepare_tokens(x, none), unmasked));
}

TEST(ViTTest, DropPathFunction) {
  torch::manual_seed(5);
  auto x = torch::ones({1000, 2, 3});
  EXPECT_TRUE(torch::equal(drop_path(x, 0.0, true), x));
  EXPECT_TRUE(torch::equal(drop_path(x, 0.5, false), x));
  auto y = drop_path(x, 0.5, true);
  auto per_sample = y.select(2, 0).select(1, 0);
  EXPECT_TRUE(((per_sample == 0) | (per_sample == 2)).all().item<bool>());
  EXPECT_TRUE(torch::equal(y, per_sample.view({1000, 1, 1}).expand_as(y)));  // whole samples
  const double kept = (per_sample == 2).sum().item<double>() / 1000.0;
  EXPECT_NEAR(kept, 0.5, 0.06);
}

TEST(ViTTest, EvalIsDeterministicAndRateZeroTrainingEqualsEval) {
  ViTConfig c = vit_tiny_test();
  c.drop_path_rate = 0.5;
  auto m = tiny(c);
  torch::NoGradGuard g;
  auto x = images(4, 56, 56);
  auto a = m->forward(x).patch_tokens;
  auto b = m->forward(x).patch_tokens;
  EXPECT_TRUE(torch::equal(a, b));
  m->train();
  torch::manual_seed(11);
  auto t1 = m->forward(x).patch_tokens;
  auto t2 = m->forward(x).patch_tokens;
  EXPECT_FALSE(torch::allclose(t1, t2));  // drop path is live in training

  ViTConfig c0 = vit_tiny_test();
  auto m0 = tiny(c0);
  auto eval0 = m0->forward(x).patch_tokens;
  m0->train();
  EXPECT_TRUE(torch::equal(m0->forward(x).patch_tokens, eval0));
}

TEST(ViTTest, LinearDropPathModeSetsBlockRates) {
  ViTConfig c = vit_tiny_test(3);
  c.drop_path_rate = 0.2;
  c.drop_path_mode = DropPathMode::kLinear;
  auto m = tiny(c);
  EXPECT_DOUBLE_EQ(m->blocks[0]->as<Block>()->drop_path_rate(), 0.0);
  EXPECT_DOUBLE_EQ(m->blocks[2]->as<Block>()->drop_path_rate(), 0.2);
}

TEST(ViTTest, InitFollowsDinov2) {
  auto m = tiny(vit_tiny_test(2, 2));
  EXPECT_TRUE(torch::equal(m->mask_token, torch::zeros({1, 64})));
  EXPECT_LT(m->cls_token.abs().max().item<double>(), 1e-4);
  const double pos_std = m->pos_embed.std().item<double>();
  EXPECT_GT(pos_std, 0.015);
  EXPECT_LT(pos_std, 0.025);
  auto* block = m->blocks[1]->as<Block>();
  EXPECT_TRUE(torch::allclose(block->ls1->gamma, torch::full({64}, 1e-5)));
  EXPECT_TRUE(torch::equal(block->attn->qkv->bias, torch::zeros({192})));
  EXPECT_NEAR(block->mlp->fc1->weight.std().item<double>(), 0.02, 0.002);

  ViTConfig no_ls = vit_tiny_test();
  no_ls.layerscale_init = 0.0;
  auto m2 = tiny(no_ls);
  for (const auto& p : m2->named_parameters()) EXPECT_EQ(p.key().find(".ls"), std::string::npos) << p.key();

  torch::manual_seed(2);
  auto t = torch::empty({10000});
  trunc_normal_(t, 0.0, 1.0, -0.5, 0.5);
  EXPECT_LE(t.abs().max().item<double>(), 0.5);
}

// DINOv2's subset form: rate 0.3 of 10 samples runs the branch on 7, adds it back
// scaled by 10/7, and leaves the other 3 untouched; gradients reach only the 7.
// kOverwritten leaves LibTorch's module defaults (a Linear's bias is uniform, not zero)
// and the zero tokens: the DINOv2 pass has not run.
TEST(ViTTest, OverwrittenWeightsSkipTheDinov2Init) {
  torch::manual_seed(4);
  VisionTransformer skipped(vit_tiny_test(), WeightInit::kOverwritten);
  VisionTransformer initialised(vit_tiny_test());
  const auto& skipped_qkv = skipped->blocks[0]->as<Block>()->attn->qkv;
  const auto& initialised_qkv = initialised->blocks[0]->as<Block>()->attn->qkv;
  EXPECT_GT(skipped_qkv->bias.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(initialised_qkv->bias.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(skipped->pos_embed.abs().max().item<float>(), 0.0f);
  EXPECT_GT(initialised->pos_embed.abs().max().item<float>(), 0.0f);
}

TEST(ViTTest, DropPathOnSubsetRunsTheBranchOnKeptSamplesOnly) {
  torch::manual_seed(8);
  const torch::Tensor x = torch::randn({10, 3, 4});
  const torch::Tensor w = torch::full({1}, 2.0).requires_grad_(true);
  int64_t branch_batch = 0;
  const torch::Tensor y = add_residual_on_subset(
      x, [&](const torch::Tensor& t) { branch_batch = t.size(0); return t * w; }, 0.3);
  EXPECT_EQ(branch_batch, 7);
  const torch::Tensor changed = (y - x).abs().flatten(1).amax(1) > 0;
  EXPECT_EQ(changed.sum().item<int64_t>(), 7);
  const torch::Tensor kept = changed.nonzero().flatten();
  EXPECT_TRUE(torch::allclose(y.index_select(0, kept), x.index_select(0, kept) * (1.0 + 2.0 * 10.0 / 7.0)));
  y.sum().backward();
  EXPECT_NEAR(w.grad().item<double>(), x.index_select(0, kept).sum().item<double>() * 10.0 / 7.0, 1e-3);
  // Never an empty subset: rate 0.95 of 3 samples still runs one.
  add_residual_on_subset(x.narrow(0, 0, 3), [&](const torch::Tensor& t) { branch_batch = t.size(0); return t; }, 0.95);
  EXPECT_EQ(branch_batch, 1);
}

TEST(ViTTest, SubsetDropPathTrainsAndIsIdentityFreeInEval) {
  ViTConfig c = vit_tiny_test(2, 0);
  c.drop_path_rate = 0.5;
  c.drop_path_on_subset = true;
  torch::manual_seed(9);
  VisionTransformer m(c);
  const torch::Tensor images = torch::randn({4, 3, 56, 56});
  m->train();
  const ViTOutput out = m->forward(images);
  out.cls.sum().backward();
  EXPECT_TRUE(m->blocks[0]->as<Block>()->attn->qkv->weight.grad().defined());
  m->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(m->forward(images).cls, m->forward(images).cls));  // no randomness in eval
}

TEST(ViTTest, VitBaseHasDinov2ParameterCount) {
  VisionTransformer m(vit_base());
  int64_t count = 0;
  for (const auto& p : m->parameters()) count += p.numel();
  EXPECT_EQ(count, 86580480);
  EXPECT_EQ(m->named_parameters().size(), 175u);
}

// RAD-DINO's setting: ViT-B/14 at 518 px is a 37 x 37 patch grid (one forward, ~0.3
// TFLOP: a few seconds on two cores).
TEST(ViTTest, VitBaseAt518GivesClsAnd1369PatchTokens) {
  torch::NoGradGuard no_grad;
  at::set_num_threads(2);
  ViTConfig config = vit_base();
  ASSERT_EQ(config.image_size, 518);
  VisionTransformer m(config);
  m->eval();
  const ViTOutput out = m->forward(torch::rand({1, 3, 518, 518}));
  EXPECT_EQ(out.cls.sizes(), (std::vector<int64_t>{1, 768}));
  EXPECT_EQ(out.patch_tokens.sizes(), (std::vector<int64_t>{1, 1369, 768}));
  EXPECT_EQ(out.grid_h, 37);
  EXPECT_EQ(out.grid_w, 37);
  EXPECT_TRUE(torch::isfinite(out.patch_tokens).all().item<bool>());
}

TEST(ViTTest, FusedAttentionMatchesManual) {
  if (!fused_attention_available()) GTEST_SKIP() << "LibTorch < 2: no scaled_dot_product_attention";
  auto m = tiny(vit_tiny_test(2, 1));
  torch::NoGradGuard g;
  auto x = images(2, 56, 56);
  m->set_attention_backend(AttentionBackend::kManual);
  auto manual = m->forward(x).patch_tokens;
  m->set_attention_backend(AttentionBackend::kFused);
  auto fused = m->forward(x).patch_tokens;
  EXPECT_TRUE(torch::allclose(manual, fused, 1e-4, 1e-5));
}

}  // namespace
}  // namespace radflow::ml
