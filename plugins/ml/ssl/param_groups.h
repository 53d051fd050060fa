// AdamW parameter groups of the DINOv2 student (dinov2/utils/param_groups.py
// get_params_groups_with_decay + fuse_params_groups; research/raddino-method.md §2.8):
// layer-wise lr decay decay^(L + 1 - layer_id) with layer_id 0 for the embeddings
// (pos_embed, patch_embed, mask_token, cls_token, register_tokens), i + 1 for block i
// and L + 1 for the rest (final norm); x patch_embed_lr_mult on patch_embed; heads
// (no blocks) always 1. Weight-decay multiplier 0 for names ending in ".bias" or
// containing "norm" or "gamma"; "last_layer" parameters follow the last-layer lr.
//
// The groups are data (ParamGroupEntry per parameter, FusedParamGroup per distinct
// multiplier triple) plus a builder for torch::optim::AdamW. SslOptimizer owns the
// optimizer; the parameters stay owned by their modules. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace radflow::ml::ssl {

struct ParamGroupOptions {
  double layerwise_decay = 0.9;      // optim.layerwise_decay (ViT-B); 1.0 = off
  double patch_embed_lr_mult = 0.2;  // optim.patch_embed_lr_mult
};

struct ParamGroupEntry {
  std::string name;  // prefix + the module's own parameter name
  torch::Tensor param;
  int64_t layer_id = 0;
  double lr_multiplier = 1.0;
  double wd_multiplier = 1.0;
  bool is_last_layer = false;
};

// get_vit_lr_decay_rate's layer id of a parameter named as in the module itself
// ("blocks.3.attn.qkv.weight"). is_backbone: the module has blocks (num_layers > 0).
int64_t vit_layer_id(const std::string& name, int64_t num_layers, bool is_backbone);

// One entry per trainable (requires_grad) parameter of `module`, in named_parameters()
// order. num_blocks: the ViT depth for a backbone, 0 for a head. `prefix` only labels
// names (e.g. "backbone."); the rules see the module's own names, as DINOv2 calls this
// per student submodule.
std::vector<ParamGroupEntry> param_group_entries(const torch::nn::Module& module, int64_t num_blocks,
                                                 const ParamGroupOptions& options,
                                                 const std::string& prefix = "");

struct FusedParamGroup {
  double lr_multiplier = 1.0;
  double wd_multiplier = 1.0;
  bool is_last_layer = false;
  std::vector<std::string> names;
  std::vector<torch::Tensor> params;
};

// Groups entries with identical (lr_multiplier, wd_multiplier, is_last_layer), in order
// of first appearance (fuse_params_groups).
std::vector<FusedParamGroup> fuse_param_groups(const std::vector<ParamGroupEntry>& entries);

struct AdamWSettings {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

// An AdamW whose i-th param group is groups[i]; apply_schedule() writes this
// iteration's lr and weight decay into every group (train.py apply_optim_scheduler):
// lr = (is_last_layer ? last_layer_lr : lr) * lr_multiplier, wd = wd * wd_multiplier.
class SslOptimizer {
 public:
  SslOptimizer(std::vector<FusedParamGroup> groups, const AdamWSettings& settings = {});
  void apply_schedule(double lr, double weight_decay, double last_layer_lr);
  torch::optim::AdamW& optimizer() { return *optimizer_; }
  const std::vector<FusedParamGroup>& groups() const { return groups_; }
  // Current lr / weight decay of group i (for logging and tests).
  double group_lr(size_t i) const;
  double group_weight_decay(size_t i) const;

 private:
  std::vector<FusedParamGroup> groups_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
};

}  // namespace radflow::ml::ssl
