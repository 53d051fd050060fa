#include "plugins/ml/torch/checkpoint_keys.h"

#include <cmath>
#include <regex>

namespace radflow::ml {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Native names with a one-to-one HF counterpart; block-level names are handled with
// their "blocks.{i}." prefix stripped.
const std::vector<std::pair<std::string, std::string>>& top_level_map() {
  static const std::vector<std::pair<std::string, std::string>> map = {
      {"cls_token", "embeddings.cls_token"},
      {"mask_token", "embeddings.mask_token"},
      {"pos_embed", "embeddings.position_embeddings"},
      {"register_tokens", "embeddings.register_tokens"},
      {"patch_embed.proj.weight", "embeddings.patch_embeddings.projection.weight"},
      {"patch_embed.proj.bias", "embeddings.patch_embeddings.projection.bias"},
      {"norm.weight", "layernorm.weight"},
      {"norm.bias", "layernorm.bias"},
  };
  return map;
}

const std::vector<std::pair<std::string, std::string>>& block_map() {
  static const std::vector<std::pair<std::string, std::string>> map = {
      {"attn.proj.", "attention.output.dense."},
      {"ls1.gamma", "layer_scale1.lambda1"},
      {"ls2.gamma", "layer_scale2.lambda1"},
  };
  return map;
}

}  // namespace

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

const char* to_string(CheckpointLayout layout) {
  return layout == CheckpointLayout::kHuggingFace ? "huggingface" : "dinov2";
}

Result<CheckpointLayout> detect_checkpoint_layout(const std::vector<std::string>& names) {
  for (std::string name : names) {
    if (starts_with(name, "dinov2.")) name = name.substr(7);
    if (starts_with(name, "embeddings.") || starts_with(name, "encoder.layer.")) return CheckpointLayout::kHuggingFace;
  }
  static const std::regex dinov2(R"((^|\.)(cls_token|pos_embed|patch_embed\.proj\.weight)$)");
  for (const auto& name : names) {
    if (std::regex_search(name, dinov2)) return CheckpointLayout::kDinov2;
  }
  return Status::error("unknown_checkpoint_layout",
                       "no tensor looks like a DINOv2 or Hugging Face Dinov2 ViT (" + std::to_string(names.size()) +
                           " tensors)");
}

std::map<std::string, std::string> normalize_checkpoint_names(const std::vector<std::string>& names,
                                                              CheckpointLayout layout) {
  std::map<std::string, std::string> out;
  if (layout == CheckpointLayout::kHuggingFace) {
    for (const auto& name : names) out[starts_with(name, "dinov2.") ? name.substr(7) : name] = name;
    return out;
  }
  // SSL checkpoints hold both networks; the teacher is the one evaluated (DINOv2 eval).
  std::string keep_prefix;
  for (const char* p : {"teacher.backbone.", "student.backbone."}) {
    for (const auto& name : names) {
      if (starts_with(name, p)) keep_prefix = p;
    }
    if (!keep_prefix.empty()) break;
  }
  static const std::regex chunked(R"(^blocks\.\d+\.(\d+)\.(.*)$)");
  for (const auto& name : names) {
    std::string n = name;
    if (!keep_prefix.empty()) {
      if (!starts_with(n, keep_prefix)) continue;
      n = n.substr(keep_prefix.size());
    }
    for (const char* p : {"module.", "backbone."}) {
      if (starts_with(n, p)) n = n.substr(std::string(p).size());
    }
    std::smatch m;
    if (std::regex_match(n, m, chunked)) n = "blocks." + m[1].str() + "." + m[2].str();
    out[n] = name;
  }
  return out;
}

std::vector<KeyMapping> map_native_name(const std::string& native, CheckpointLayout layout) {
  if (layout == CheckpointLayout::kDinov2) return {{native, native, -1}};
  for (const auto& [from, to] : top_level_map()) {
    if (native == from) return {{to, native, -1}};
  }
  static const std::regex block(R"(^blocks\.(\d+)\.(.*)$)");
  std::smatch m;
  if (!std::regex_match(native, m, block)) return {{native, native, -1}};
  const std::string prefix = "encoder.layer." + m[1].str() + ".";
  const std::string rest = m[2].str();
  if (starts_with(rest, "attn.qkv.")) {
    const std::string suffix = rest.substr(9);  // weight | bias
    std::vector<KeyMapping> parts;
    const char* qkv[] = {"query", "key", "value"};
    for (int i = 0; i < 3; ++i) {
      parts.push_back({prefix + "attention.attention." + qkv[i] + "." + suffix, native, i});
    }
    return parts;
  }
  for (const auto& [from, to] : block_map()) {
    if (starts_with(rest, from)) return {{prefix + to + rest.substr(from.size()), native, -1}};
  }
  return {{prefix + rest, native, -1}};  // norm1, norm2, mlp.fc1, mlp.fc2 keep their names
}

bool is_optional_tensor(const std::string& native_name) { return native_name == "mask_token"; }

Result<ViTConfig> infer_vit_config(const TensorShapes& shapes, CheckpointLayout layout,
                                   const nlohmann::json* config_json) {
  const bool hf = layout == CheckpointLayout::kHuggingFace;
  auto find = [&](const std::string& native) -> const std::vector<int64_t>* {
    auto it = shapes.find(map_native_name(native, layout)[0].file_name);
    return it == shapes.end() ? nullptr : &it->second;
  };
  auto mismatch = [](const std::string& what) { return Status::error("checkpoint_mismatch", what); };
  const auto* cls = find("cls_token");
  const auto* patch = find("patch_embed.proj.weight");
  const auto* pos = find("pos_embed");
  if (!cls || !patch || !pos || cls->size() != 3 || patch->size() != 4 || pos->size() != 3) {
    return mismatch("cannot infer the ViT config: cls token, patch conv or pos embed missing or malformed");
  }
  ViTConfig c;
  c.embed_dim = cls->back();
  c.in_chans = (*patch)[1];
  c.patch_size = (*patch)[2];
  const int64_t grid = std::llround(std::sqrt(static_cast<double>((*pos)[1] - 1)));
  if (grid * grid != (*pos)[1] - 1) return mismatch("pos embed " + shape_string(*pos) + " is not 1 + a square grid");
  c.image_size = grid * c.patch_size;
  static const std::regex block_re(R"(^(blocks|encoder\.layer)\.(\d+)\.)");
  int64_t depth = 0;
  for (const auto& [name, shape] : shapes) {
    std::smatch m;
    if (std::regex_search(name, m, block_re)) depth = std::max<int64_t>(depth, std::stoll(m[2].str()) + 1);
  }
  if (depth == 0) return mismatch("cannot infer the ViT config: no transformer blocks");
  c.depth = depth;
  if (const auto* fc1 = find("blocks.0.mlp.fc1.weight")) {
    c.mlp_ratio = static_cast<double>((*fc1)[0]) / static_cast<double>(c.embed_dim);
  }
  if (const auto* regs = find("register_tokens")) c.num_register_tokens = (*regs)[1];
  c.qkv_bias = find("blocks.0.attn.qkv.bias") != nullptr;
  c.layerscale_init = find("blocks.0.ls1.gamma") ? 1.0 : 0.0;  // the value is loaded, not used
  c.num_heads = std::max<int64_t>(1, c.embed_dim / 64);
  c.pos_embed_interpolation = hf ? PosEmbedInterpolation::kHuggingFace
                                 : (c.num_register_tokens > 0 ? PosEmbedInterpolation::kDinov2Antialias
                                                              : PosEmbedInterpolation::kDinov2Offset);
  if (config_json) {
    RF_ASSIGN_OR_RETURN(ViTConfig j, vit_config_from_json(*config_json));
    auto check = [&](const char* field, int64_t from_json, int64_t from_tensors) -> Status {
      if (!config_json->contains(field) || from_json == from_tensors) return Status();
      return Status::error("checkpoint_mismatch",
                           std::string("config.json says ") + field + " = " + std::to_string(from_json) +
                               " but the tensors say " + std::to_string(from_tensors),
                           std::string("/") + field);
    };
    RF_RETURN_IF_ERROR(check("hidden_size", j.embed_dim, c.embed_dim));
    RF_RETURN_IF_ERROR(check("num_hidden_layers", j.depth, c.depth));
    RF_RETURN_IF_ERROR(check("patch_size", j.patch_size, c.patch_size));
    RF_RETURN_IF_ERROR(check("num_channels", j.in_chans, c.in_chans));
    RF_RETURN_IF_ERROR(check("num_register_tokens", j.num_register_tokens, c.num_register_tokens));
    // image_size comes from the pos-embed grid: that is what the weights hold.
    // Only fields the file states override the tensor-derived defaults.
    if (config_json->contains("num_attention_heads")) c.num_heads = j.num_heads;
    if (config_json->contains("layer_norm_eps")) c.layer_norm_eps = j.layer_norm_eps;
    // LayerScale exists iff the tensors have it; its init value only matters for training.
    if (c.layerscale_init > 0 && config_json->contains("layerscale_value") && j.layerscale_init > 0) {
      c.layerscale_init = j.layerscale_init;
    }
    c.drop_path_rate = j.drop_path_rate;
    c.drop_path_mode = j.drop_path_mode;
    c.use_mask_token = j.use_mask_token || find("mask_token") != nullptr;
    if (config_json->contains("radflow_pos_embed_interpolation")) c.pos_embed_interpolation = j.pos_embed_interpolation;
  }
  RF_RETURN_IF_ERROR(validate(c));
  return c;
}

}  // namespace radflow::ml
