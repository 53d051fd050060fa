// ViTConfig: the hyperparameters of a DINOv2-flavour Vision Transformer (the RAD-DINO
// backbone), presets for the DINOv2 sizes and tiny test models, and conversion to and
// from a Hugging Face Dinov2Config `config.json`.
//
// Plain value type: copy freely; no shared state, so any thread may use its own copy.
// This header does not include LibTorch, so config handling (workflow validation,
// checkpoint inspection) can live in code that never links torch.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace radflow::ml {

// How the learnable position embedding (trained on a square base grid) is resized to
// another patch grid. The three variants found in released code give slightly
// different numbers (research/raddino-method.md §1.2); at the native grid all three
// are the identity.
enum class PosEmbedInterpolation {
  // DINOv2 original: bicubic with scale_factor = (h0 + 0.1) / M, no antialias.
  kDinov2Offset,
  // DINOv2 register models: bicubic to size (h0, w0) with antialias.
  kDinov2Antialias,
  // Current Hugging Face transformers: bicubic to size (h0, w0), no antialias.
  kHuggingFace,
};

// Drop-path (stochastic depth) rate per block: the same rate everywhere, or rising
// linearly from 0 at the first block to drop_path_rate at the last.
enum class DropPathMode { kUniform, kLinear };

struct ViTConfig {
  int64_t image_size = 224;  // side of the square base grid, in pixels
  int64_t patch_size = 14;
  int64_t in_chans = 3;
  int64_t embed_dim = 768;
  int64_t depth = 12;
  int64_t num_heads = 12;
  double mlp_ratio = 4.0;
  int64_t num_register_tokens = 0;
  double layerscale_init = 1e-5;  // 0 disables LayerScale (no ls1/ls2 parameters)
  double drop_path_rate = 0.0;
  DropPathMode drop_path_mode = DropPathMode::kUniform;
  // How a dropped branch is skipped in training (not part of the architecture, not
  // saved): false multiplies each sample's branch by a Bernoulli mask (timm's DropPath);
  // true is DINOv2's compute-saving form, used for its SSL student: the branch runs on
  // a random subset of max(floor(B (1 - rate)), 1) samples and is added back scaled by
  // B / subset. Same expectation; the subset form skips the dropped samples' compute.
  bool drop_path_on_subset = false;
  bool qkv_bias = true;
  double layer_norm_eps = 1e-6;
  PosEmbedInterpolation pos_embed_interpolation = PosEmbedInterpolation::kDinov2Offset;
  bool use_mask_token = true;

  int64_t grid_size() const { return image_size / patch_size; }
  int64_t num_patches() const { return grid_size() * grid_size(); }
  int64_t head_dim() const { return embed_dim / num_heads; }
  int64_t mlp_hidden_dim() const { return static_cast<int64_t>(embed_dim * mlp_ratio); }
  // Drop-path rate of block `index` (0-based) under drop_path_mode.
  double block_drop_path_rate(int64_t index) const;
};

// Checks the invariants a model needs (positive sizes, image divisible by patch, width
// divisible by heads, rates in [0, 1)). Error code "invalid_config".
Status validate(const ViTConfig& config);

// DINOv2 presets at patch 14 and the 518-pixel (37x37) grid of the released weights.
// Note: DINOv2's official g/14 uses a SwiGLU FFN, which this module does not implement;
// vit_giant() has g/14's width, depth and heads with the plain MLP.
ViTConfig vit_small();  // 384 / 12 / 6
ViTConfig vit_base();   // 768 / 12 / 12 (RAD-DINO)
ViTConfig vit_large();  // 1024 / 24 / 16
ViTConfig vit_giant();  // 1536 / 40 / 24
// Tiny models for tests: width 64, 4 heads, patch 14, 4x4 native grid (56 px).
ViTConfig vit_tiny_test(int64_t depth = 2, int64_t num_register_tokens = 0);

const char* to_string(PosEmbedInterpolation mode);
const char* to_string(DropPathMode mode);

// Hugging Face Dinov2Config field names (hidden_size, num_hidden_layers, ...), plus
// radflow_* fields for what HF does not record (interpolation variant, drop-path
// mode, mask token). num_register_tokens is written only when non-zero.
nlohmann::json to_json(const ViTConfig& config);
// Reads a Dinov2Config / Dinov2WithRegistersConfig. Missing fields take Dinov2Config's
// defaults (768/12/12, image 224, patch 14, layerscale_value 1.0); a wrong type, an unknown enum string or use_swiglu_ffn=true is an error
// ("invalid_config", path = the field). The result is validated.
Result<ViTConfig> vit_config_from_json(const nlohmann::json& json);

}  // namespace radflow::ml
