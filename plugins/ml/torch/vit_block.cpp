#include "plugins/ml/torch/vit_block.h"

#include <cmath>

#include "plugins/ml/torch/attention_core.h"

#ifndef TORCH_VERSION_MAJOR
#error "torch/torch.h should define TORCH_VERSION_MAJOR (torch/version.h)"
#endif

namespace radflow::ml {

bool fused_attention_available() {
#if TORCH_VERSION_MAJOR >= 2
  return true;
#else
  return false;
#endif
}

void trunc_normal_(torch::Tensor& t, double mean, double std, double a, double b) {
  torch::NoGradGuard no_grad;
  // Inverse-CDF sampling, as torch.nn.init.trunc_normal_ does.
  auto norm_cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
  const double l = norm_cdf((a - mean) / std);
  const double u = norm_cdf((b - mean) / std);
  t.uniform_(2 * l - 1, 2 * u - 1);
  t.erfinv_();
  t.mul_(std * std::sqrt(2.0));
  t.add_(mean);
  t.clamp_(a, b);
}

namespace {
// The calling thread's DropPathGeneratorScope generator; empty: torch's default.
thread_local c10::optional<at::Generator> drop_path_generator;
}  // namespace

DropPathGeneratorScope::DropPathGeneratorScope(at::Generator generator) : replaced_(drop_path_generator) {
  drop_path_generator = std::move(generator);
}

DropPathGeneratorScope::~DropPathGeneratorScope() { drop_path_generator = std::move(replaced_); }

torch::Tensor drop_path(const torch::Tensor& x, double rate, bool training) {
  if (!training || rate <= 0.0) return x;
  const double keep = 1.0 - rate;
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = x.size(0);
  auto mask = torch::empty(shape, x.options()).bernoulli_(keep, drop_path_generator);
  return x * mask / keep;
}

torch::Tensor add_residual_on_subset(const torch::Tensor& x,
                                     const std::function<torch::Tensor(const torch::Tensor&)>& branch,
                                     double rate) {
  const int64_t b = x.size(0);
  const int64_t keep = std::max<int64_t>(static_cast<int64_t>(static_cast<double>(b) * (1.0 - rate)), 1);
  const auto long_options = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  const torch::Tensor index = torch::randperm(b, drop_path_generator, long_options).narrow(0, 0, keep);
  const torch::Tensor residual = branch(x.index_select(0, index));
  return torch::index_add(x.flatten(1), 0, index, residual.flatten(1).to(x.scalar_type()),
                          static_cast<double>(b) / static_cast<double>(keep))
      .view_as(x);
}

LayerScaleImpl::LayerScaleImpl(int64_t dim, double init_value) {
  gamma = register_parameter("gamma", torch::full({dim}, init_value));
}

AttentionImpl::AttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias) : num_heads_(num_heads) {
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(qkv_bias)));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

void AttentionImpl::set_backend(AttentionBackend backend) {
  TORCH_CHECK(backend != AttentionBackend::kFused || fused_attention_available(),
              "fused attention needs LibTorch >= 2");
  backend_ = backend;
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2);
  const int64_t head_dim = c / num_heads_;
  const torch::Tensor projected = qkv(x);
  bool fused = backend_ == AttentionBackend::kFused ||
               (backend_ == AttentionBackend::kAuto && fused_attention_available());
  const bool cpu_core = backend_ == AttentionBackend::kCpuCore ||
                        (backend_ == AttentionBackend::kAuto && !fused && attention_core_supports(projected) &&
                         attention_core_pays_off(n, head_dim));
  if (cpu_core) return proj(attention_core(projected, num_heads_));
  // [3, B, heads, N, head_dim]
  auto qkv_out = projected.reshape({b, n, 3, num_heads_, head_dim}).permute({2, 0, 3, 1, 4});
  auto q = qkv_out[0], k = qkv_out[1], v = qkv_out[2];
  torch::Tensor out;
#if TORCH_VERSION_MAJOR >= 2
  if (fused) out = at::scaled_dot_product_attention(q, k, v);
#else
  fused = false;
#endif
  if (!fused) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
    auto attn = torch::matmul(q * scale, k.transpose(-2, -1));
    // Softmax in fp32 so that half-precision inputs keep their accuracy.
    attn = attn.softmax(-1, torch::kFloat32).to(q.scalar_type());
    out = torch::matmul(attn, v);
  }
  return proj(out.transpose(1, 2).reshape({b, n, c}));
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden_dim) {
  fc1 = register_module("fc1", torch::nn::Linear(dim, hidden_dim));
  fc2 = register_module("fc2", torch::nn::Linear(hidden_dim, dim));
}

BlockImpl::BlockImpl(const ViTConfig& config, double drop_path_rate)
    : drop_path_rate_(drop_path_rate), drop_path_on_subset_(config.drop_path_on_subset) {
  const int64_t d = config.embed_dim;
  auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(config.layer_norm_eps)); };
  norm1 = register_module("norm1", ln());
  attn = register_module("attn", Attention(d, config.num_heads, config.qkv_bias));
  if (config.layerscale_init > 0) ls1 = register_module("ls1", LayerScale(d, config.layerscale_init));
  norm2 = register_module("norm2", ln());
  mlp = register_module("mlp", Mlp(d, config.mlp_hidden_dim()));
  if (config.layerscale_init > 0) ls2 = register_module("ls2", LayerScale(d, config.layerscale_init));
}

torch::Tensor BlockImpl::attention_branch(const torch::Tensor& x) {
  const torch::Tensor h = attn(norm1(x));
  return ls1 ? ls1(h) : h;
}

torch::Tensor BlockImpl::mlp_branch(const torch::Tensor& x) {
  const torch::Tensor h = mlp(norm2(x));
  return ls2 ? ls2(h) : h;
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x) {
  if (drop_path_on_subset_ && is_training() && drop_path_rate_ > 0.0) {
    const torch::Tensor y =
        add_residual_on_subset(x, [this](const torch::Tensor& t) { return attention_branch(t); }, drop_path_rate_);
    return add_residual_on_subset(y, [this](const torch::Tensor& t) { return mlp_branch(t); }, drop_path_rate_);
  }
  const torch::Tensor y = x + drop_path(attention_branch(x), drop_path_rate_, is_training());
  return y + drop_path(mlp_branch(y), drop_path_rate_, is_training());
}

}  // namespace radflow::ml
