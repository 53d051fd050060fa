#include "plugins/ml/torch/vit_config.h"

#include <gtest/gtest.h>

namespace radflow::ml {
namespace {

TEST(ViTConfigTest, PresetsHaveDinov2Sizes) {
  EXPECT_EQ(vit_base().embed_dim, 768);
  EXPECT_EQ(vit_base().num_heads, 12);
  EXPECT_EQ(vit_base().grid_size(), 37);
  EXPECT_EQ(vit_small().embed_dim, 384);
  EXPECT_EQ(vit_large().depth, 24);
  EXPECT_EQ(vit_giant().num_heads, 24);
  EXPECT_EQ(vit_tiny_test().num_patches(), 16);
  for (const auto& c : {vit_small(), vit_base(), vit_large(), vit_giant(), vit_tiny_test(3, 4)}) {
    EXPECT_TRUE(validate(c).ok()) << c.embed_dim;
  }
}

TEST(ViTConfigTest, JsonRoundTripKeepsEveryField) {
  ViTConfig c = vit_tiny_test(3, 4);
  c.mlp_ratio = 2.0;
  c.layerscale_init = 0.0;
  c.drop_path_rate = 0.2;
  c.drop_path_mode = DropPathMode::kLinear;
  c.qkv_bias = false;
  c.layer_norm_eps = 1e-5;
  c.pos_embed_interpolation = PosEmbedInterpolation::kDinov2Antialias;
  c.use_mask_token = false;
  auto j = to_json(c);
  EXPECT_EQ(j["hidden_size"], 64);
  EXPECT_EQ(j["num_register_tokens"], 4);
  auto back = vit_config_from_json(j);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->drop_path_mode, DropPathMode::kLinear);
  EXPECT_EQ(back->pos_embed_interpolation, PosEmbedInterpolation::kDinov2Antialias);
  EXPECT_FALSE(back->use_mask_token);
}

TEST(ViTConfigTest, ReadsHuggingFaceRadDinoConfig) {
  auto j = nlohmann::json::parse(R"({
    "architectures": ["Dinov2Model"], "attention_probs_dropout_prob": 0.0, "drop_path_rate": 0.0,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "hidden_size": 768, "image_size": 518,
    "initializer_range": 0.02, "layer_norm_eps": 1e-06, "layerscale_value": 1.0, "mlp_ratio": 4,
    "model_type": "dinov2", "num_attention_heads": 12, "num_channels": 3, "num_hidden_layers": 12,
    "patch_size": 14, "qkv_bias": true, "torch_dtype": "float32", "use_swiglu_ffn": false})");
  auto c = vit_config_from_json(j);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->embed_dim, 768);
  EXPECT_EQ(c->depth, 12);
  EXPECT_EQ(c->grid_size(), 37);
  EXPECT_EQ(c->num_register_tokens, 0);
  EXPECT_DOUBLE_EQ(c->layerscale_init, 1.0);
  EXPECT_EQ(c->pos_embed_interpolation, PosEmbedInterpolation::kHuggingFace);
}

TEST(ViTConfigTest, RejectsBadFieldsWithTheirPath) {
  auto wrong_type = vit_config_from_json({{"hidden_size", "big"}});
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_EQ(wrong_type.status().err().path, "/hidden_size");
  auto swiglu = vit_config_from_json({{"use_swiglu_ffn", true}});
  ASSERT_FALSE(swiglu.ok());
  EXPECT_EQ(swiglu.status().err().path, "/use_swiglu_ffn");
  auto heads = vit_config_from_json({{"hidden_size", 100}, {"num_attention_heads", 12}});
  ASSERT_FALSE(heads.ok());
  EXPECT_EQ(heads.status().code(), "invalid_config");
  auto interp = vit_config_from_json({{"radflow_pos_embed_interpolation", "nearest"}});
  EXPECT_FALSE(interp.ok());
  auto patch = vit_config_from_json({{"image_size", 500}, {"patch_size", 14}});
  EXPECT_FALSE(patch.ok());
}

TEST(ViTConfigTest, DropPathRatePerBlock) {
  ViTConfig c = vit_tiny_test(5);
  c.drop_path_rate = 0.4;
  EXPECT_DOUBLE_EQ(c.block_drop_path_rate(0), 0.4);
  EXPECT_DOUBLE_EQ(c.block_drop_path_rate(4), 0.4);
  c.drop_path_mode = DropPathMode::kLinear;
  EXPECT_DOUBLE_EQ(c.block_drop_path_rate(0), 0.0);
  EXPECT_DOUBLE_EQ(c.block_drop_path_rate(2), 0.2);
  EXPECT_DOUBLE_EQ(c.block_drop_path_rate(4), 0.4);
}

}  // namespace
}  // namespace radflow::ml
