#include "plugins/ml/torch/vit_config.h"

#include <cmath>
#include <string>

namespace radflow::ml {
namespace {

Status invalid(const std::string& message, const std::string& path = {}) {
  return Status::error("invalid_config", message, path);
}

// Reads json[key] into *out when present; a present value of the wrong type is an error
// rather than a silent default, so a typo'd config cannot build a different model.
template <typename T>
Status read_field(const nlohmann::json& json, const char* key, T* out) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return Status();
  try {
    *out = it->get<T>();
  } catch (const nlohmann::json::exception& e) {
    return invalid(std::string("wrong type for ") + key + ": " + e.what(), std::string("/") + key);
  }
  return Status();
}

}  // namespace

double ViTConfig::block_drop_path_rate(int64_t index) const {
  if (drop_path_mode == DropPathMode::kUniform || depth <= 1) return drop_path_rate;
  return drop_path_rate * static_cast<double>(index) / static_cast<double>(depth - 1);
}

Status validate(const ViTConfig& c) {
  if (c.patch_size <= 0 || c.image_size <= 0 || c.in_chans <= 0 || c.embed_dim <= 0 ||
      c.depth <= 0 || c.num_heads <= 0 || c.mlp_ratio <= 0 || c.num_register_tokens < 0) {
    return invalid("sizes must be positive (registers non-negative)");
  }
  if (c.image_size % c.patch_size != 0) {
    return invalid("image_size " + std::to_string(c.image_size) + " is not a multiple of patch_size " +
                       std::to_string(c.patch_size),
                   "/image_size");
  }
  if (c.embed_dim % c.num_heads != 0) {
    return invalid("hidden_size " + std::to_string(c.embed_dim) + " is not divisible by " +
                       std::to_string(c.num_heads) + " heads",
                   "/num_attention_heads");
  }
  if (!(c.drop_path_rate >= 0.0 && c.drop_path_rate < 1.0)) {
    return invalid("drop_path_rate must be in [0, 1)", "/drop_path_rate");
  }
  if (c.layerscale_init < 0.0) return invalid("layerscale_value must be >= 0", "/layerscale_value");
  if (!(c.layer_norm_eps > 0.0)) return invalid("layer_norm_eps must be > 0", "/layer_norm_eps");
  return Status();
}

static ViTConfig preset(int64_t dim, int64_t depth, int64_t heads) {
  ViTConfig c;
  c.image_size = 518;
  c.patch_size = 14;
  c.embed_dim = dim;
  c.depth = depth;
  c.num_heads = heads;
  return c;
}

ViTConfig vit_small() { return preset(384, 12, 6); }
ViTConfig vit_base() { return preset(768, 12, 12); }
ViTConfig vit_large() { return preset(1024, 24, 16); }
ViTConfig vit_giant() { return preset(1536, 40, 24); }

ViTConfig vit_tiny_test(int64_t depth, int64_t num_register_tokens) {
  ViTConfig c = preset(64, depth, 4);
  c.image_size = 56;
  c.num_register_tokens = num_register_tokens;
  return c;
}

const char* to_string(PosEmbedInterpolation mode) {
  switch (mode) {
    case PosEmbedInterpolation::kDinov2Offset: return "dinov2_offset";
    case PosEmbedInterpolation::kDinov2Antialias: return "dinov2_antialias";
    case PosEmbedInterpolation::kHuggingFace: return "huggingface";
  }
  return "?";
}

const char* to_string(DropPathMode mode) {
  return mode == DropPathMode::kUniform ? "uniform" : "linear";
}

nlohmann::json to_json(const ViTConfig& c) {
  nlohmann::json j = {
      {"model_type", "dinov2"},
      {"architectures", {"Dinov2Model"}},
      {"hidden_size", c.embed_dim},
      {"num_hidden_layers", c.depth},
      {"num_attention_heads", c.num_heads},
      {"mlp_ratio", c.mlp_ratio},
      {"hidden_act", "gelu"},
      {"hidden_dropout_prob", 0.0},
      {"attention_probs_dropout_prob", 0.0},
      {"initializer_range", 0.02},
      {"layer_norm_eps", c.layer_norm_eps},
      {"image_size", c.image_size},
      {"patch_size", c.patch_size},
      {"num_channels", c.in_chans},
      {"qkv_bias", c.qkv_bias},
      {"layerscale_value", c.layerscale_init},
      {"drop_path_rate", c.drop_path_rate},
      {"use_swiglu_ffn", false},
      {"radflow_pos_embed_interpolation", to_string(c.pos_embed_interpolation)},
      {"radflow_drop_path_mode", to_string(c.drop_path_mode)},
      {"radflow_use_mask_token", c.use_mask_token},
  };
  if (c.num_register_tokens > 0) {
    j["model_type"] = "dinov2_with_registers";
    j["architectures"] = {"Dinov2WithRegistersModel"};
    j["num_register_tokens"] = c.num_register_tokens;
  }
  return j;
}

Result<ViTConfig> vit_config_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return invalid("config is not a JSON object");
  ViTConfig c;  // Dinov2Config defaults
  c.image_size = 224;
  c.layerscale_init = 1.0;
  c.pos_embed_interpolation = PosEmbedInterpolation::kHuggingFace;
  RF_RETURN_IF_ERROR(read_field(j, "hidden_size", &c.embed_dim));
  RF_RETURN_IF_ERROR(read_field(j, "num_hidden_layers", &c.depth));
  RF_RETURN_IF_ERROR(read_field(j, "num_attention_heads", &c.num_heads));
  RF_RETURN_IF_ERROR(read_field(j, "mlp_ratio", &c.mlp_ratio));
  RF_RETURN_IF_ERROR(read_field(j, "layer_norm_eps", &c.layer_norm_eps));
  RF_RETURN_IF_ERROR(read_field(j, "image_size", &c.image_size));
  RF_RETURN_IF_ERROR(read_field(j, "patch_size", &c.patch_size));
  RF_RETURN_IF_ERROR(read_field(j, "num_channels", &c.in_chans));
  RF_RETURN_IF_ERROR(read_field(j, "qkv_bias", &c.qkv_bias));
  RF_RETURN_IF_ERROR(read_field(j, "layerscale_value", &c.layerscale_init));
  RF_RETURN_IF_ERROR(read_field(j, "drop_path_rate", &c.drop_path_rate));
  RF_RETURN_IF_ERROR(read_field(j, "num_register_tokens", &c.num_register_tokens));
  RF_RETURN_IF_ERROR(read_field(j, "radflow_use_mask_token", &c.use_mask_token));
  bool swiglu = false;
  RF_RETURN_IF_ERROR(read_field(j, "use_swiglu_ffn", &swiglu));
  if (swiglu) return invalid("use_swiglu_ffn=true (ViT-g) is not supported", "/use_swiglu_ffn");
  std::string act = "gelu";
  RF_RETURN_IF_ERROR(read_field(j, "hidden_act", &act));
  if (act != "gelu") return invalid("hidden_act '" + act + "' is not supported (only gelu)", "/hidden_act");

  std::string interp = to_string(c.pos_embed_interpolation);
  RF_RETURN_IF_ERROR(read_field(j, "radflow_pos_embed_interpolation", &interp));
  if (interp == "dinov2_offset") {
    c.pos_embed_interpolation = PosEmbedInterpolation::kDinov2Offset;
  } else if (interp == "dinov2_antialias") {
    c.pos_embed_interpolation = PosEmbedInterpolation::kDinov2Antialias;
  } else if (interp == "huggingface") {
    c.pos_embed_interpolation = PosEmbedInterpolation::kHuggingFace;
  } else {
    return invalid("unknown pos-embed interpolation '" + interp + "'", "/radflow_pos_embed_interpolation");
  }
  std::string mode = to_string(c.drop_path_mode);
  RF_RETURN_IF_ERROR(read_field(j, "radflow_drop_path_mode", &mode));
  if (mode == "uniform") {
    c.drop_path_mode = DropPathMode::kUniform;
  } else if (mode == "linear") {
    c.drop_path_mode = DropPathMode::kLinear;
  } else {
    return invalid("unknown drop-path mode '" + mode + "'", "/radflow_drop_path_mode");
  }
  RF_RETURN_IF_ERROR(validate(c));
  return c;
}

}  // namespace radflow::ml
