#include "plugins/ml/ssl/param_groups.h"

#include <cmath>
#include <set>

#include <gtest/gtest.h>

#include "plugins/ml/ssl/dino_head.h"
#include "plugins/ml/torch/vit.h"

namespace radflow::ml::ssl {
namespace {

const ParamGroupEntry& find(const std::vector<ParamGroupEntry>& entries, const std::string& name) {
  for (const auto& e : entries) {
    if (e.name == name) return e;
  }
  ADD_FAILURE() << "missing " << name;
  return entries.front();
}

TEST(ParamGroups, LayerIdsAsDinov2) {
  EXPECT_EQ(vit_layer_id("pos_embed", 12, true), 0);
  EXPECT_EQ(vit_layer_id("patch_embed.proj.weight", 12, true), 0);
  EXPECT_EQ(vit_layer_id("mask_token", 12, true), 0);
  EXPECT_EQ(vit_layer_id("register_tokens", 12, true), 0);
  EXPECT_EQ(vit_layer_id("blocks.0.norm1.weight", 12, true), 1);
  EXPECT_EQ(vit_layer_id("blocks.11.mlp.fc2.bias", 12, true), 12);
  EXPECT_EQ(vit_layer_id("norm.weight", 12, true), 13);
  EXPECT_EQ(vit_layer_id("backbone.blocks.3.attn.qkv.weight", 12, false), 4);
  EXPECT_EQ(vit_layer_id("mlp.0.weight", 0, false), 1);  // heads: decay^0
}

TEST(ParamGroups, VitBaseDepthMultipliersAndDecay) {
  torch::manual_seed(0);
  VisionTransformer vit(vit_tiny_test(/*depth=*/12));
  const auto entries = param_group_entries(*vit, 12, ParamGroupOptions{}, "backbone.");
  // Every trainable parameter exactly once.
  const auto params = vit->named_parameters();
  ASSERT_EQ(entries.size(), params.size());
  std::set<const void*> seen;
  for (const auto& e : entries) EXPECT_TRUE(seen.insert(e.param.unsafeGetTensorImpl()).second) << e.name;

  EXPECT_NEAR(find(entries, "backbone.patch_embed.proj.weight").lr_multiplier, std::pow(0.9, 13) * 0.2, 1e-12);
  EXPECT_NEAR(find(entries, "backbone.patch_embed.proj.weight").lr_multiplier, 0.05083, 1e-5);
  EXPECT_NEAR(find(entries, "backbone.cls_token").lr_multiplier, 0.2541865828, 1e-9);
  EXPECT_NEAR(find(entries, "backbone.blocks.0.attn.qkv.weight").lr_multiplier, std::pow(0.9, 12), 1e-12);
  EXPECT_NEAR(find(entries, "backbone.blocks.11.mlp.fc1.weight").lr_multiplier, 0.9, 1e-12);
  EXPECT_DOUBLE_EQ(find(entries, "backbone.norm.weight").lr_multiplier, 1.0);

  for (const auto& e : entries) {
    const bool no_decay = e.name.size() > 5 && e.name.compare(e.name.size() - 5, 5, ".bias") == 0;
    const bool norm_or_gamma = e.name.find("norm") != std::string::npos || e.name.find("gamma") != std::string::npos;
    EXPECT_EQ(e.wd_multiplier, (no_decay || norm_or_gamma) ? 0.0 : 1.0) << e.name;
    EXPECT_FALSE(e.is_last_layer);
  }
  EXPECT_EQ(find(entries, "backbone.blocks.4.ls1.gamma").wd_multiplier, 0.0);
  for (const char* decayed : {"backbone.cls_token", "backbone.pos_embed", "backbone.mask_token"}) {
    EXPECT_EQ(find(entries, decayed).wd_multiplier, 1.0) << decayed;
  }
  // Layer ids grow with depth.
  for (int64_t i = 0; i < 12; ++i) {
    EXPECT_EQ(find(entries, "backbone.blocks." + std::to_string(i) + ".norm1.weight").layer_id, i + 1);
  }
}

TEST(ParamGroups, HeadAndFusedOptimizerFollowSchedules) {
  torch::manual_seed(1);
  VisionTransformer vit(vit_tiny_test(2));
  DinoHeadOptions ho;
  ho.in_dim = 64;
  ho.hidden_dim = 32;
  ho.bottleneck_dim = 8;
  ho.out_dim = 16;
  DinoHead head(ho);
  auto entries = param_group_entries(*vit, 2, ParamGroupOptions{}, "backbone.");
  const auto head_entries = param_group_entries(*head, 0, ParamGroupOptions{}, "dino_head.");
  for (const auto& e : head_entries) EXPECT_DOUBLE_EQ(e.lr_multiplier, 1.0) << e.name;
  EXPECT_TRUE(find(head_entries, "dino_head.last_layer.weight_g").is_last_layer);
  EXPECT_EQ(find(head_entries, "dino_head.last_layer.weight_g").wd_multiplier, 1.0);
  EXPECT_EQ(find(head_entries, "dino_head.mlp.0.bias").wd_multiplier, 0.0);
  entries.insert(entries.end(), head_entries.begin(), head_entries.end());

  const auto groups = fuse_param_groups(entries);
  size_t total = 0;
  std::set<const void*> seen;
  for (const auto& g : groups) {
    total += g.params.size();
    for (const auto& p : g.params) EXPECT_TRUE(seen.insert(p.unsafeGetTensorImpl()).second);
  }
  EXPECT_EQ(total, entries.size());

  SslOptimizer opt(groups);
  opt.apply_schedule(1e-3, 0.04, 0.0);  // last layer frozen
  ASSERT_EQ(opt.optimizer().param_groups().size(), groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    const double lr = groups[i].is_last_layer ? 0.0 : 1e-3 * groups[i].lr_multiplier;
    EXPECT_DOUBLE_EQ(opt.group_lr(i), lr);
    EXPECT_DOUBLE_EQ(opt.group_weight_decay(i), 0.04 * groups[i].wd_multiplier);
  }
  // One step with the frozen last layer leaves it unchanged and moves the rest.
  const torch::Tensor v0 = head->last_layer->weight_v.detach().clone();
  const torch::Tensor w0 = head->mlp[0]->as<torch::nn::Linear>()->weight.detach().clone();
  const auto out = vit->forward(torch::randn({2, 3, 56, 56}));
  head->forward(out.cls).pow(2).sum().backward();
  opt.optimizer().step();
  EXPECT_TRUE(torch::equal(head->last_layer->weight_v, v0));
  EXPECT_FALSE(torch::equal(head->mlp[0]->as<torch::nn::Linear>()->weight, w0));
}

}  // namespace
}  // namespace radflow::ml::ssl
