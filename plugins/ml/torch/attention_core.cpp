#include "plugins/ml/torch/attention_core.h"

#include <cmath>

#include "plugins/ml/torch/cpu_shards.h"

namespace radflow::ml {
namespace {

// Strided [N, head_dim] views of one image's q, k or v for one head, and of the output.
struct HeadViews {
  int64_t heads, channels, head_dim;
  torch::Tensor part(const torch::Tensor& image_qkv, int64_t which, int64_t head) const {
    return image_qkv.narrow(1, which * channels + head * head_dim, head_dim);
  }
  torch::Tensor out(const torch::Tensor& image_out, int64_t head) const {
    return image_out.narrow(1, head * head_dim, head_dim);
  }
};

// Runs body(image, head) for every pair, spread over the intra-op threads. Inside the
// parallel region each BLAS call runs on one thread (OpenBLAS and MKL do not nest).
// for_each_shard carries the caller's thread-local state in: without it grad mode would
// be on there even inside the autograd function, and the out= calls below refuse
// inputs that require grad.
template <typename Body>
void for_each_head(int64_t images, int64_t heads, const Body& body) {
  for_each_shard(images * heads, [&](int64_t pair) { body(pair / heads, pair % heads); });
}

class AttentionCoreFunction : public torch::autograd::Function<AttentionCoreFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& qkv_in,
                               int64_t num_heads) {
    const torch::Tensor qkv = qkv_in.contiguous();
    const int64_t b = qkv.size(0), n = qkv.size(1), c = qkv.size(2) / 3;
    const HeadViews views{num_heads, c, c / num_heads};
    const double scale = 1.0 / std::sqrt(static_cast<double>(views.head_dim));
    // Only the probabilities are kept (for backward); each pair's scores are a temporary.
    torch::Tensor probs = torch::empty({b, num_heads, n, n}, qkv.options());
    torch::Tensor out = torch::empty({b, n, c}, qkv.options());
    for_each_head(b, num_heads, [&](int64_t image, int64_t head) {
      const torch::Tensor x = qkv[image];
      torch::Tensor s = torch::empty({n, n}, qkv.options()), p = probs[image][head], o = out[image];
      at::addmm_out(s, s, views.part(x, 0, head), views.part(x, 1, head).t(), /*beta=*/0, /*alpha=*/scale);
      at::_softmax_out(p, s, 1, false);
      torch::Tensor o_head = views.out(o, head);
      at::mm_out(o_head, p, views.part(x, 2, head));
    });
    ctx->save_for_backward({qkv, probs});
    ctx->saved_data["heads"] = num_heads;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& qkv = saved[0];
    const torch::Tensor& probs = saved[1];
    const int64_t num_heads = ctx->saved_data["heads"].toInt();
    const torch::Tensor grad_out = grads[0].contiguous();
    const int64_t b = qkv.size(0), c = qkv.size(2) / 3;
    const HeadViews views{num_heads, c, c / num_heads};
    const double scale = 1.0 / std::sqrt(static_cast<double>(views.head_dim));
    torch::Tensor grad_qkv = torch::empty_like(qkv);
    for_each_head(b, num_heads, [&](int64_t image, int64_t head) {
      const torch::Tensor x = qkv[image], g = grad_out[image], p = probs[image][head];
      const torch::Tensor go = views.out(g, head);
      torch::Tensor gx = grad_qkv[image];
      torch::Tensor dq = views.part(gx, 0, head), dk = views.part(gx, 1, head), dv = views.part(gx, 2, head);
      at::mm_out(dv, p.t(), go);                                       // dV = P^T dO
      const torch::Tensor dp = at::mm(go, views.part(x, 2, head).t());  // dP = dO V^T
      const torch::Tensor ds = at::_softmax_backward_data(dp, p, 1, torch::kFloat);
      at::addmm_out(dq, dq, ds, views.part(x, 1, head), 0, scale);      // dQ = scale dS K
      at::addmm_out(dk, dk, ds.t(), views.part(x, 0, head), 0, scale);  // dK = scale dS^T Q
    });
    return {grad_qkv, torch::Tensor()};
  }
};

}  // namespace

bool attention_core_supports(const torch::Tensor& qkv) {
  return qkv.device().is_cpu() && qkv.scalar_type() == torch::kFloat && qkv.dim() == 3;
}

bool attention_core_pays_off(int64_t tokens, int64_t head_dim) {
  return tokens * tokens * head_dim >= (int64_t{1} << 20);
}

torch::Tensor attention_core(const torch::Tensor& qkv, int64_t num_heads) {
  TORCH_CHECK(attention_core_supports(qkv), "attention_core: needs a CPU float32 [B, N, 3C] qkv");
  TORCH_CHECK(num_heads > 0 && qkv.size(2) % (3 * num_heads) == 0,
              "attention_core: last dim ", qkv.size(2), " is not 3 x heads x head_dim for ", num_heads, " heads");
  return AttentionCoreFunction::apply(qkv, num_heads);
}

}  // namespace radflow::ml
