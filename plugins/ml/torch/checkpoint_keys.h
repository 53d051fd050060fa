// Key names of the two ViT checkpoint layouts and the torch-free half of checkpoint
// loading: layout detection, name normalisation, the DINOv2 <-> Hugging Face name map
// and config inference from tensor shapes (research/raddino-method.md §1.5).
//
// "Native" names are the DINOv2 repository's (cls_token, blocks.{i}.attn.qkv.weight,
// ...), which are also VisionTransformer's parameter names. Free functions on values;
// thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "plugins/ml/torch/vit_config.h"

namespace radflow::ml {

enum class CheckpointLayout {
  kHuggingFace,  // Dinov2Model: embeddings.*, encoder.layer.{i}.*, layernorm.*
  kDinov2,       // DINOv2 repository: cls_token, pos_embed, blocks.{i}.*, norm.*
};

const char* to_string(CheckpointLayout layout);

// "[256, 64]": a tensor shape as error messages show it.
std::string shape_string(const std::vector<int64_t>& shape);

using TensorShapes = std::map<std::string, std::vector<int64_t>>;

// HF if any key starts with "embeddings." or "encoder.layer." (after dropping a
// "dinov2." prefix), DINOv2 if one looks like cls_token/pos_embed/blocks.*; else
// error "unknown_checkpoint_layout".
Result<CheckpointLayout> detect_checkpoint_layout(const std::vector<std::string>& names);

// Maps each stored name to the name the loader matches against: for HF drops a
// "dinov2." prefix; for DINOv2 keeps only the teacher (else student) backbone of SSL
// checkpoints, strips "module."/"backbone." and flattens chunked blocks
// ("blocks.{chunk}.{i}." -> "blocks.{i}."). Returned as normalised -> stored name.
std::map<std::string, std::string> normalize_checkpoint_names(const std::vector<std::string>& names,
                                                              CheckpointLayout layout);

// One tensor of a layout, and where it goes in the native (DINOv2) parameters: the
// whole parameter (qkv_part < 0) or one third of a fused qkv parameter (rows q, k, v).
struct KeyMapping {
  std::string file_name;
  std::string native_name;
  int qkv_part = -1;
};

// The file names that hold native parameter `native_name` in `layout`. Unknown native
// names map to themselves.
std::vector<KeyMapping> map_native_name(const std::string& native_name, CheckpointLayout layout);

// True for tensors a checkpoint may omit (the mask token: HF exports often drop it).
bool is_optional_tensor(const std::string& native_name);

// Infers a ViTConfig from normalised tensor shapes: width from the CLS token, patch
// size and channels from the patch conv, image size from the square pos-embed grid,
// depth from the block indices, MLP ratio from fc1, registers, qkv bias, LayerScale.
// Heads, eps and the radflow_* fields come from `config_json` (a Dinov2Config) when
// given, else heads = width / 64. A config.json that contradicts the tensors is an
// error ("checkpoint_mismatch", path = the JSON field).
Result<ViTConfig> infer_vit_config(const TensorShapes& shapes, CheckpointLayout layout,
                                   const nlohmann::json* config_json = nullptr);

}  // namespace radflow::ml
