// ShardedBackbonePasses against the plain backbone: the same outputs, the same
// parameter gradients (to float rounding) through the cut graphs, reproducible drop
// path, and the one-shard case left as the plain forward.
#include "plugins/ml/ssl/sharded_backbone.h"

#include <gtest/gtest.h>

#include "tests/ml/intra_op_threads.h"

namespace radflow::ml::ssl {
namespace {

using ::radflow::ml::testing::IntraOpThreads;

// A loss that mixes rows across shards (as the heads and KoLeo do), on CLS and patches.
torch::Tensor mixing_loss(const ViTOutput& out, const torch::Tensor& w_cls, const torch::Tensor& w_patch) {
  const torch::Tensor cls = out.cls.matmul(w_cls);  // [B, 5]
  return cls.softmax(0).mul(cls).sum() + out.patch_tokens.mul(w_patch).square().mean();
}

std::vector<torch::Tensor> gradients(const torch::nn::Module& module) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : module.parameters()) grads.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  return grads;
}

void zero_grads(torch::nn::Module& module) {
  for (auto& p : module.parameters()) p.mutable_grad() = torch::Tensor();
}

TEST(ShardedBackbonePasses, OutputsAndGradientsMatchTheUnshardedBackbone) {
  IntraOpThreads two(2);
  torch::manual_seed(5);
  ViTConfig config = vit_tiny_test();
  config.use_mask_token = true;
  VisionTransformer vit(config);
  const torch::Tensor images = torch::randn({6, 3, 56, 56});
  const torch::Tensor masks = torch::rand({6, 16}) < 0.3;
  const torch::Tensor w_cls = torch::randn({64, 5}), w_patch = torch::randn({64});

  const ViTOutput plain = vit->forward(images, masks);
  mixing_loss(plain, w_cls, w_patch).backward();
  const std::vector<torch::Tensor> expected = gradients(*vit);
  zero_grads(*vit);

  for (int64_t shards : {2, 3, 6}) {
    ShardedBackbonePasses passes(shards, /*drop_path_seed=*/1);
    const ViTOutput sharded = passes.forward(vit, images, masks);
    EXPECT_TRUE(sharded.cls.requires_grad() && sharded.patch_tokens.requires_grad());
    EXPECT_TRUE(torch::allclose(sharded.cls, plain.cls, 1e-5, 1e-5)) << shards << " shards";
    EXPECT_TRUE(torch::allclose(sharded.patch_tokens, plain.patch_tokens, 1e-5, 1e-5)) << shards << " shards";
    mixing_loss(sharded, w_cls, w_patch).backward();
    for (const auto& p : vit->parameters()) EXPECT_FALSE(p.grad().defined()) << "before backward()";
    passes.backward();
    const std::vector<torch::Tensor> got = gradients(*vit);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(got[i].defined()) << "parameter " << i << ", " << shards << " shards";
      EXPECT_TRUE(torch::allclose(got[i], expected[i], 1e-4, 1e-6))
          << "parameter " << i << ", " << shards << " shards: max diff "
          << (got[i] - expected[i]).abs().max().item<float>();
    }
    zero_grads(*vit);
  }
}

TEST(ShardedBackbonePasses, WithoutGradModeTheOutputsAreNotCut) {
  IntraOpThreads two(2);
  torch::manual_seed(6);
  VisionTransformer vit(vit_tiny_test());
  const torch::Tensor images = torch::randn({4, 3, 56, 56});
  ShardedBackbonePasses passes(2, 1);
  torch::NoGradGuard no_grad;
  const ViTOutput out = passes.forward(vit, images);
  EXPECT_FALSE(out.cls.requires_grad());
  EXPECT_TRUE(torch::allclose(out.cls, vit->forward(images).cls, 1e-5, 1e-5));
  passes.backward();  // nothing recorded: a no-op
  for (const auto& p : vit->parameters()) EXPECT_FALSE(p.grad().defined());
}

// A shard's generator, not torch's default one, drives its drop path: the same seed
// gives the same gradients whatever the default generator holds; another seed differs.
TEST(ShardedBackbonePasses, DropPathDrawsPerShardFromTheSeed) {
  IntraOpThreads two(2);
  torch::manual_seed(7);
  ViTConfig config = vit_tiny_test();
  config.drop_path_rate = 0.5;
  config.drop_path_on_subset = true;
  VisionTransformer vit(config);
  vit->train();
  const torch::Tensor images = torch::randn({8, 3, 56, 56});
  auto run = [&](uint64_t seed, uint64_t default_seed) {
    torch::manual_seed(default_seed);
    ShardedBackbonePasses passes(2, seed);
    passes.forward(vit, images).cls.square().sum().backward();
    passes.backward();
    std::vector<torch::Tensor> grads = gradients(*vit);
    zero_grads(*vit);
    return grads;
  };
  const auto a = run(11, 1), b = run(11, 2), c = run(12, 1);
  bool any_differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].defined(), b[i].defined()) << "parameter " << i;
    if (!a[i].defined()) continue;  // the mask token: no masks here
    EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
    any_differs = any_differs || !c[i].defined() || !torch::equal(a[i], c[i]);
  }
  EXPECT_TRUE(any_differs) << "another drop-path seed should draw other subsets";
}

TEST(ShardedBackbonePasses, OneShardIsThePlainForward) {
  torch::manual_seed(8);
  VisionTransformer vit(vit_tiny_test());
  const torch::Tensor images = torch::randn({3, 3, 56, 56});
  ShardedBackbonePasses passes(1, 1);
  const ViTOutput out = passes.forward(vit, images);
  out.cls.sum().backward();  // the graph is not cut: the parameters get their gradients here
  EXPECT_TRUE(vit->patch_embed->proj->weight.grad().defined());
  EXPECT_TRUE(vit->blocks[0]->as<Block>()->attn->qkv->weight.grad().defined());
  passes.backward();  // and this has nothing to do
}

}  // namespace
}  // namespace radflow::ml::ssl
