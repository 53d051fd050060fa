#include "plugins/ml/torch/vit.h"

#include <algorithm>

#include "common/check.h"

namespace radflow::ml {

namespace F = torch::nn::functional;

PatchEmbedImpl::PatchEmbedImpl(int64_t in_chans, int64_t embed_dim, int64_t patch_size) {
  proj = register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_chans, embed_dim, patch_size).stride(patch_size)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& images) {
  return proj(images).flatten(2).transpose(1, 2);
}

VisionTransformerImpl::VisionTransformerImpl(const ViTConfig& config, WeightInit init) : config_(config) {
  const Status valid = validate(config);
  RF_CHECK(valid.ok(), valid.to_string());
  const int64_t d = config.embed_dim;
  patch_embed = register_module("patch_embed", PatchEmbed(config.in_chans, d, config.patch_size));
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, d}));
  pos_embed = register_parameter("pos_embed", torch::zeros({1, 1 + config.num_patches(), d}));
  if (config.num_register_tokens > 0) {
    register_tokens = register_parameter("register_tokens", torch::zeros({1, config.num_register_tokens, d}));
  }
  if (config.use_mask_token) mask_token = register_parameter("mask_token", torch::zeros({1, d}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.depth; ++i) blocks->push_back(Block(config, config.block_drop_path_rate(i)));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(config.layer_norm_eps)));
  if (init == WeightInit::kDinov2) init_weights();
}

void VisionTransformerImpl::init_weights() {
  torch::NoGradGuard no_grad;
  trunc_normal_(pos_embed, 0.0, 0.02, -2.0, 2.0);
  cls_token.normal_(0.0, 1e-6);
  if (register_tokens.defined()) register_tokens.normal_(0.0, 1e-6);
  if (mask_token.defined()) mask_token.zero_();
  // Only Linear layers get the timm-style init; the patch conv keeps torch's default.
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      trunc_normal_(linear->weight, 0.0, 0.02, -2.0, 2.0);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* ls = module->as<LayerScale>()) {
      ls->gamma.fill_(config_.layerscale_init);
    } else if (auto* ln = module->as<torch::nn::LayerNorm>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  }
}

void VisionTransformerImpl::set_attention_backend(AttentionBackend backend) {
  for (auto& block : *blocks) block->as<Block>()->attn->set_backend(backend);
}

torch::Tensor VisionTransformerImpl::interpolate_pos_encoding(int64_t grid_h, int64_t grid_w) const {
  const int64_t m = config_.grid_size();
  // DINOv2 and HF both skip the resize at the native grid; the offset variant would
  // otherwise resample slightly even there.
  if (grid_h == m && grid_w == m) return pos_embed;
  const int64_t d = config_.embed_dim;
  auto cls_pos = pos_embed.narrow(1, 0, 1);
  auto grid = pos_embed.narrow(1, 1, m * m).reshape({1, m, m, d}).permute({0, 3, 1, 2}).to(torch::kFloat32);
  auto opts = F::InterpolateFuncOptions().mode(torch::kBicubic).align_corners(false);
  switch (config_.pos_embed_interpolation) {
    case PosEmbedInterpolation::kDinov2Offset:
      // The scale factor, not the size, sets the sampling grid (research §1.2).
      opts.scale_factor(std::vector<double>{(grid_h + 0.1) / m, (grid_w + 0.1) / m})
          .recompute_scale_factor(false);
      break;
    case PosEmbedInterpolation::kDinov2Antialias:
      opts.size(std::vector<int64_t>{grid_h, grid_w}).antialias(true);
      break;
    case PosEmbedInterpolation::kHuggingFace:
      opts.size(std::vector<int64_t>{grid_h, grid_w});
      break;
  }
  auto resized = F::interpolate(grid, opts);
  TORCH_CHECK(resized.size(2) == grid_h && resized.size(3) == grid_w, "pos-embed resize gave ",
              resized.sizes(), " for grid ", grid_h, "x", grid_w);
  resized = resized.permute({0, 2, 3, 1}).reshape({1, grid_h * grid_w, d}).to(pos_embed.scalar_type());
  return torch::cat({cls_pos, resized}, 1);
}

torch::Tensor VisionTransformerImpl::prepare_tokens(const torch::Tensor& images, const torch::Tensor& masks) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == config_.in_chans, "expected images [B, ", config_.in_chans,
              ", H, W], got ", images.sizes());
  const int64_t p = config_.patch_size;
  TORCH_CHECK(images.size(2) % p == 0 && images.size(3) % p == 0, "image size ", images.size(2), "x",
              images.size(3), " is not a multiple of patch size ", p);
  const int64_t b = images.size(0), gh = images.size(2) / p, gw = images.size(3) / p;
  auto x = patch_embed(images);
  if (masks.defined()) {
    TORCH_CHECK(mask_token.defined(), "masks given but the model has no mask token");
    TORCH_CHECK(masks.dim() == 2 && masks.size(0) == b && masks.size(1) == gh * gw, "expected masks [", b, ", ",
                gh * gw, "], got ", masks.sizes());
    x = torch::where(masks.to(torch::kBool).unsqueeze(-1), mask_token.to(x.scalar_type()).unsqueeze(0), x);
  }
  x = torch::cat({cls_token.expand({b, -1, -1}), x}, 1);
  x = x + interpolate_pos_encoding(gh, gw);
  if (register_tokens.defined()) {
    x = torch::cat({x.narrow(1, 0, 1), register_tokens.expand({b, -1, -1}), x.narrow(1, 1, gh * gw)}, 1);
  }
  return x;
}

ViTOutput VisionTransformerImpl::forward(const torch::Tensor& images, const torch::Tensor& masks,
                                         const ViTForwardOptions& options) {
  const int64_t depth = config_.depth, r = config_.num_register_tokens;
  std::vector<int64_t> wanted;
  for (int64_t layer : options.intermediate_layers) {
    const int64_t resolved = layer < 0 ? depth + layer : layer;
    TORCH_CHECK(resolved >= 0 && resolved < depth, "intermediate layer ", layer, " out of range for depth ", depth);
    wanted.push_back(resolved);
  }
  ViTOutput out;
  out.grid_h = images.size(2) / config_.patch_size;
  out.grid_w = images.size(3) / config_.patch_size;
  const int64_t n = out.grid_h * out.grid_w;
  auto split = [&](const torch::Tensor& tokens, torch::Tensor* cls, torch::Tensor* regs, torch::Tensor* patches) {
    *cls = tokens.select(1, 0);
    *regs = tokens.narrow(1, 1, r);
    *patches = tokens.narrow(1, 1 + r, n);
  };

  auto x = prepare_tokens(images, masks);
  // Keep only the requested block outputs alive.
  std::vector<torch::Tensor> layer_outputs(depth);
  for (int64_t i = 0; i < depth; ++i) {
    x = blocks[i]->as<Block>()->forward(x);
    if (std::find(wanted.begin(), wanted.end(), i) != wanted.end()) layer_outputs[i] = x;
  }
  for (int64_t layer : wanted) {
    ViTLayerOutput lo;
    lo.layer = layer;
    auto tokens = options.intermediate_norm == IntermediateNorm::kNormed ? norm(layer_outputs[layer])
                                                                          : layer_outputs[layer];
    split(tokens, &lo.cls, &lo.register_tokens, &lo.patch_tokens);
    out.intermediates.push_back(std::move(lo));
  }
  out.prenorm = x;
  split(norm(x), &out.cls, &out.register_tokens, &out.patch_tokens);
  return out;
}

torch::Tensor patch_tokens_to_map(const torch::Tensor& patch_tokens, int64_t grid_h, int64_t grid_w) {
  TORCH_CHECK(patch_tokens.dim() == 3 && patch_tokens.size(1) == grid_h * grid_w, "patch tokens ",
              patch_tokens.sizes(), " do not fit a ", grid_h, "x", grid_w, " grid");
  return patch_tokens.transpose(1, 2).reshape({patch_tokens.size(0), patch_tokens.size(2), grid_h, grid_w});
}

}  // namespace radflow::ml
