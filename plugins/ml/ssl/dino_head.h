// DinoHead: the DINOv2 projection head (dinov2/layers/dino_head.py;
// research/raddino-method.md §2.1): an MLP (Linear-GELU-...-Linear to the bottleneck),
// L2 normalisation, then a weight-normalised Linear(bottleneck -> K) without bias, so
// every logit lies in [-g, g].
//
// Parameter names match DINOv2's state dict: mlp.{0,2,4}.{weight,bias},
// last_layer.weight_g [K,1], last_layer.weight_v [K,bottleneck]. weight_g starts at 1.
// In DINOv2 it stays trainable (and gets weight decay and the last-layer lr); DINO v1's
// norm_last_layer froze it: `train_weight_g` chooses. Freezing the last layer for the
// first epoch is the trainer's job: a zero last-layer lr (SslSchedules), as DINOv2 does;
// the gradients are kept, so AdamW's moments accumulate during the freeze.
//
// Module held through its holder (shared_ptr). forward() only reads parameters.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace radflow::ml::ssl {

struct DinoHeadOptions {
  int64_t in_dim = 768;
  int64_t out_dim = 65536;  // K prototypes
  int64_t hidden_dim = 2048;
  int64_t bottleneck_dim = 256;
  int64_t nlayers = 3;      // Linear layers in the MLP (>= 1)
  bool mlp_bias = true;
  bool train_weight_g = true;  // DINOv2: true
};

// Linear(in -> out, no bias) with W = g * v / ||v||_row (torch weight_norm, dim 0).
class WeightNormLinearImpl : public torch::nn::Module {
 public:
  WeightNormLinearImpl(int64_t in_features, int64_t out_features);
  torch::Tensor weight() const;  // [out, in]
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight_g;  // [out, 1]
  torch::Tensor weight_v;  // [out, in]
};
TORCH_MODULE(WeightNormLinear);

class DinoHeadImpl : public torch::nn::Module {
 public:
  // Preconditions (checked): positive sizes, nlayers >= 1.
  explicit DinoHeadImpl(const DinoHeadOptions& options);

  // [..., in_dim] -> [..., out_dim] logits (not divided by any temperature).
  torch::Tensor forward(const torch::Tensor& x);
  // The L2-normalised bottleneck features, [..., bottleneck_dim].
  torch::Tensor bottleneck(const torch::Tensor& x);

  // Re-initialises as DINOv2: MLP weights trunc-normal(0.02) and zero biases, the last
  // layer's v with the default Linear init, g = 1. Called by the constructor.
  void init_weights();
  std::vector<torch::Tensor> last_layer_parameters() const;

  const DinoHeadOptions& options() const { return options_; }

  torch::nn::Sequential mlp{nullptr};
  WeightNormLinear last_layer{nullptr};

 private:
  DinoHeadOptions options_;
};
TORCH_MODULE(DinoHead);

// Parameter count of a head with these options (weight_g included).
int64_t dino_head_parameter_count(const DinoHeadOptions& options);

}  // namespace radflow::ml::ssl
