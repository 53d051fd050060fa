#include "plugins/ml/ssl/dino_head.h"

#include <cmath>

#include "common/check.h"

namespace radflow::ml::ssl {

WeightNormLinearImpl::WeightNormLinearImpl(int64_t in_features, int64_t out_features) {
  weight_g = register_parameter("weight_g", torch::ones({out_features, 1}));
  weight_v = register_parameter("weight_v", torch::empty({out_features, in_features}));
}

torch::Tensor WeightNormLinearImpl::weight() const {
  // torch.nn.utils.weight_norm(dim=0): the norm over every dim but 0, no epsilon.
  return weight_v * (weight_g / weight_v.norm(2, {1}, /*keepdim=*/true));
}

torch::Tensor WeightNormLinearImpl::forward(const torch::Tensor& x) {
  return torch::nn::functional::linear(x, weight());
}

DinoHeadImpl::DinoHeadImpl(const DinoHeadOptions& options) : options_(options) {
  RF_CHECK(options.in_dim > 0 && options.out_dim > 0 && options.hidden_dim > 0 &&
               options.bottleneck_dim > 0 && options.nlayers >= 1,
           "DinoHead: sizes must be positive and nlayers >= 1");
  auto linear = [&](int64_t in, int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(options.mlp_bias));
  };
  mlp = torch::nn::Sequential();
  if (options.nlayers == 1) {
    mlp->push_back(linear(options.in_dim, options.bottleneck_dim));
  } else {
    mlp->push_back(linear(options.in_dim, options.hidden_dim));
    mlp->push_back(torch::nn::GELU());
    for (int64_t i = 0; i < options.nlayers - 2; ++i) {
      mlp->push_back(linear(options.hidden_dim, options.hidden_dim));
      mlp->push_back(torch::nn::GELU());
    }
    mlp->push_back(linear(options.hidden_dim, options.bottleneck_dim));
  }
  register_module("mlp", mlp);
  last_layer = register_module("last_layer", WeightNormLinear(options.bottleneck_dim, options.out_dim));
  init_weights();
}

void DinoHeadImpl::init_weights() {
  torch::NoGradGuard no_grad;
  for (auto& module : mlp->modules(/*include_self=*/false)) {
    if (auto* lin = module->as<torch::nn::Linear>()) {
      // DINOv2's trunc_normal_(std=0.02) truncates at +-2 absolute, i.e. 100 sigma.
      lin->weight.normal_(0.0, 0.02).clamp_(-2.0, 2.0);
      if (lin->bias.defined()) lin->bias.zero_();
    }
  }
  // The last layer is created after DINOv2's apply(_init_weights), so v keeps
  // nn.Linear's default init, kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(options_.bottleneck_dim));
  last_layer->weight_v.uniform_(-bound, bound);
  last_layer->weight_g.fill_(1.0);
  last_layer->weight_g.set_requires_grad(options_.train_weight_g);
}

torch::Tensor DinoHeadImpl::bottleneck(const torch::Tensor& x) {
  const torch::Tensor y = mlp->forward(x);
  const double eps = y.scalar_type() == torch::kHalf ? 1e-6 : 1e-12;
  return torch::nn::functional::normalize(
      y, torch::nn::functional::NormalizeFuncOptions().p(2).dim(-1).eps(eps));
}

torch::Tensor DinoHeadImpl::forward(const torch::Tensor& x) { return last_layer->forward(bottleneck(x)); }

std::vector<torch::Tensor> DinoHeadImpl::last_layer_parameters() const { return last_layer->parameters(); }

int64_t dino_head_parameter_count(const DinoHeadOptions& o) {
  const int64_t b = o.mlp_bias ? 1 : 0;
  int64_t n = 0;
  if (o.nlayers == 1) {
    n += (o.in_dim + b) * o.bottleneck_dim;
  } else {
    n += (o.in_dim + b) * o.hidden_dim;
    n += (o.nlayers - 2) * (o.hidden_dim + b) * o.hidden_dim;
    n += (o.hidden_dim + b) * o.bottleneck_dim;
  }
  return n + o.out_dim * o.bottleneck_dim + o.out_dim;
}

}  // namespace radflow::ml::ssl
