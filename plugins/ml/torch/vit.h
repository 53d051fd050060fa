// VisionTransformer: the DINOv2-flavour ViT used as the RAD-DINO backbone (patch conv,
// CLS token, optional register tokens, mask token, learnable position embedding
// resized bicubically for other grids, pre-norm blocks, final LayerNorm).
//
// Parameter names follow the DINOv2 repository (cls_token, pos_embed, mask_token,
// register_tokens, patch_embed.proj.*, blocks.{i}.*, norm.*); checkpoint.h maps them
// to and from the Hugging Face layout. The module is owned through its holder
// (shared_ptr semantics). Forward only reads parameters and may run from several
// threads at once; in training, drop path draws random numbers, reproducibly per
// thread under a DropPathGeneratorScope (vit_block.h).
#pragma once

#include <optional>
#include <vector>

#include <torch/torch.h>

#include "plugins/ml/torch/vit_block.h"
#include "plugins/ml/torch/vit_config.h"

namespace radflow::ml {

// Whether intermediate layers are passed through the final LayerNorm (as DINOv2's
// get_intermediate_layers(norm=True) does) or returned raw.
enum class IntermediateNorm { kNormed, kRaw };

struct ViTForwardOptions {
  // Block indices whose outputs to return, 0-based; negative counts from the end
  // (-1 = the last block). Out-of-range indices throw.
  std::vector<int64_t> intermediate_layers;
  IntermediateNorm intermediate_norm = IntermediateNorm::kNormed;
};

// The output of one block, split like the final output.
struct ViTLayerOutput {
  int64_t layer = 0;               // resolved non-negative block index
  torch::Tensor cls;               // [B, D]
  torch::Tensor register_tokens;   // [B, R, D] (R may be 0)
  torch::Tensor patch_tokens;      // [B, N, D]
};

struct ViTOutput {
  torch::Tensor cls;               // [B, D], after the final norm
  torch::Tensor register_tokens;   // [B, R, D], after the final norm (R may be 0)
  torch::Tensor patch_tokens;      // [B, N, D], after the final norm, row-major grid
  torch::Tensor prenorm;           // [B, 1+R+N, D], the last block's raw output
  std::vector<ViTLayerOutput> intermediates;  // in the order requested
  int64_t grid_h = 0, grid_w = 0;  // patch grid: N = grid_h * grid_w
};

class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int64_t in_chans, int64_t embed_dim, int64_t patch_size);
  // [B, C, H, W] -> [B, (H/p)*(W/p), D], patches in row-major order (row = image y).
  torch::Tensor forward(const torch::Tensor& images);
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

// How a new VisionTransformer's weights start. kDinov2: DINOv2's init (init_weights()).
// kOverwritten: for a caller that overwrites every weight next (load_vit): the
// trunc-normal pass over the Linear layers, ~40% of a ViT-B's start-up CPU in a
// profile of `radflow embed`, is skipped; the weights are LibTorch's module defaults
// and zero tokens, deterministic but not a training init.
enum class WeightInit { kDinov2, kOverwritten };

class VisionTransformerImpl : public torch::nn::Module {
 public:
  // Preconditions: validate(config).ok() (checked; a bad config is a programmer error
  // here because callers validate user configs first).
  explicit VisionTransformerImpl(const ViTConfig& config, WeightInit init = WeightInit::kDinov2);

  // images: [B, in_chans, H, W] float, H and W multiples of patch_size.
  // masks: optional bool [B, N]; true patches are replaced by the mask token before
  // the position embedding is added (needs config.use_mask_token).
  ViTOutput forward(const torch::Tensor& images, const torch::Tensor& masks = {},
                    const ViTForwardOptions& options = {});

  // The position embedding for a grid_h x grid_w patch grid: [1, 1 + grid_h*grid_w, D],
  // CLS row unchanged, patch rows resized per config().pos_embed_interpolation. At the
  // native grid it returns pos_embed itself.
  torch::Tensor interpolate_pos_encoding(int64_t grid_h, int64_t grid_w) const;

  // Patch embedding, masking, CLS, position embedding and registers:
  // [B, 1 + R + N, D] ready for the first block.
  torch::Tensor prepare_tokens(const torch::Tensor& images, const torch::Tensor& masks);

  // Re-initialises every parameter as DINOv2 does for training from scratch
  // (research/raddino-method.md §1.3). Called by the constructor.
  void init_weights();
  void set_attention_backend(AttentionBackend backend);

  const ViTConfig& config() const { return config_; }

  PatchEmbed patch_embed{nullptr};
  torch::Tensor cls_token;        // [1, 1, D]
  torch::Tensor pos_embed;        // [1, 1 + G*G, D]
  torch::Tensor register_tokens;  // [1, R, D]; undefined when R == 0
  torch::Tensor mask_token;       // [1, D]; undefined when !use_mask_token
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};

 private:
  ViTConfig config_;
};
TORCH_MODULE(VisionTransformer);

// [B, N, D] patch tokens -> [B, D, grid_h, grid_w] feature map.
torch::Tensor patch_tokens_to_map(const torch::Tensor& patch_tokens, int64_t grid_h, int64_t grid_w);

}  // namespace radflow::ml
