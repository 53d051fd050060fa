// The pieces of one DINOv2 transformer block, in LibTorch module/options style:
// LayerScale (per-channel gamma), multi-head self-attention with a fused qkv
// projection, the GELU MLP, and the pre-norm Block that chains them with per-sample
// drop path. Parameter names match the DINOv2 repository (norm1, attn.qkv, attn.proj,
// ls1.gamma, norm2, mlp.fc1, mlp.fc2, ls2.gamma) so that its checkpoints load by name.
//
// Modules are owned through their holders (shared_ptr semantics, as everywhere in
// torch::nn). A module's forward may run on several threads at once; in training,
// give each thread its own DropPathGeneratorScope so that drop path's draws stay
// reproducible.
#pragma once

#include <functional>

#include <torch/torch.h>

#include "plugins/ml/torch/vit_config.h"

namespace radflow::ml {

// Which attention kernel a block uses. kManual: matmul + softmax + matmul in ATen ops.
// kFused: torch's scaled_dot_product_attention, LibTorch >= 2 only. kCpuCore:
// attention_core.h, CPU float32 only. kAuto picks kFused on LibTorch >= 2, else
// kCpuCore where it applies and pays off (attention_core_pays_off), else kManual.
enum class AttentionBackend { kAuto, kManual, kFused, kCpuCore };

// True when this build of LibTorch offers scaled_dot_product_attention.
bool fused_attention_available();

// Fills `t` in place from N(mean, std) truncated to [a, b] (absolute bounds), like
// torch.nn.init.trunc_normal_, which LibTorch 1.13's C++ API lacks.
void trunc_normal_(torch::Tensor& t, double mean, double std, double a, double b);

// Per-sample stochastic depth on a residual branch: in training, each sample's branch
// is zeroed with probability `rate` and survivors are scaled by 1/(1-rate). Identity
// in eval mode or at rate 0.
torch::Tensor drop_path(const torch::Tensor& x, double rate, bool training);

// While a DropPathGeneratorScope lives, the drop path draws (drop_path and
// add_residual_on_subset) on the calling thread come from its generator instead of
// torch's default one. Concurrent shards of a batch (cpu_shards.h) each draw from
// their own seeded stream that way, so their draws do not depend on which thread got
// to the shared generator first. Scopes nest; each restores the one it replaced.
class DropPathGeneratorScope {
 public:
  explicit DropPathGeneratorScope(at::Generator generator);
  ~DropPathGeneratorScope();
  DropPathGeneratorScope(const DropPathGeneratorScope&) = delete;
  DropPathGeneratorScope& operator=(const DropPathGeneratorScope&) = delete;

 private:
  c10::optional<at::Generator> replaced_;
};

// DINOv2's drop_add_residual_stochastic_depth: x + branch on a random subset of the
// batch, max(floor(B (1 - rate)), 1) samples, scaled by B / subset; the other samples
// pass through unchanged and cost nothing. `branch` maps [b, ...] to [b, ...].
torch::Tensor add_residual_on_subset(const torch::Tensor& x,
                                     const std::function<torch::Tensor(const torch::Tensor&)>& branch,
                                     double rate);

class LayerScaleImpl : public torch::nn::Module {
 public:
  LayerScaleImpl(int64_t dim, double init_value);
  torch::Tensor forward(const torch::Tensor& x) { return x * gamma; }
  torch::Tensor gamma;
};
TORCH_MODULE(LayerScale);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias);
  torch::Tensor forward(const torch::Tensor& x);
  void set_backend(AttentionBackend backend);

  torch::nn::Linear qkv{nullptr};   // [3*dim, dim]; rows q, then k, then v
  torch::nn::Linear proj{nullptr};

 private:
  int64_t num_heads_;
  AttentionBackend backend_ = AttentionBackend::kAuto;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t hidden_dim);
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::gelu(fc1(x))); }
  torch::nn::Linear fc1{nullptr};
  torch::nn::Linear fc2{nullptr};
};
TORCH_MODULE(Mlp);

// x = x + DropPath(LS1(Attn(LN1(x)))); x = x + DropPath(LS2(MLP(LN2(x)))), the drop
// path per sample or on a subset (ViTConfig::drop_path_on_subset).
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const ViTConfig& config, double drop_path_rate);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::LayerNorm norm1{nullptr};
  Attention attn{nullptr};
  LayerScale ls1{nullptr};  // null when LayerScale is disabled (layerscale_init == 0)
  torch::nn::LayerNorm norm2{nullptr};
  Mlp mlp{nullptr};
  LayerScale ls2{nullptr};
  double drop_path_rate() const { return drop_path_rate_; }

 private:
  torch::Tensor attention_branch(const torch::Tensor& x);
  torch::Tensor mlp_branch(const torch::Tensor& x);
  double drop_path_rate_;
  bool drop_path_on_subset_;
};
TORCH_MODULE(Block);

}  // namespace radflow::ml
