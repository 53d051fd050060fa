#include "plugins/ml/ssl/soft_cross_entropy.h"

#include "common/check.h"

namespace radflow::ml::ssl {
namespace {

class SoftCrossEntropyFunction : public torch::autograd::Function<SoftCrossEntropyFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& logits,
                               const torch::Tensor& targets, double temp) {
    const torch::Tensor log_probs = torch::log_softmax(logits.to(torch::kFloat) * (1.0 / temp), -1);
    const torch::Tensor t = targets.to(torch::kFloat);
    ctx->save_for_backward({log_probs, t});
    ctx->saved_data["temp"] = temp;
    ctx->saved_data["dtype"] = static_cast<int64_t>(logits.scalar_type());
    return -(t * log_probs).sum(-1);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& log_probs = saved[0];
    const torch::Tensor& t = saved[1];
    const double temp = ctx->saved_data["temp"].toDouble();
    const auto dtype = static_cast<at::ScalarType>(ctx->saved_data["dtype"].toInt());
    const torch::Tensor g = grads[0].to(torch::kFloat).unsqueeze(-1) * (1.0 / temp);  // [M, 1]
    // (sum_k t_k) p - t, scaled per row by g / temp: three passes over [M, K].
    torch::Tensor grad = log_probs.exp();
    grad.mul_(g * t.sum(-1, /*keepdim=*/true));
    grad.addcmul_(t, g, -1.0);
    return {grad.to(dtype), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor soft_cross_entropy(const torch::Tensor& student_logits, const torch::Tensor& teacher_probs,
                                 double temp) {
  RF_CHECK(student_logits.dim() == 2 && student_logits.sizes() == teacher_probs.sizes(),
           "soft_cross_entropy: student logits and teacher probabilities must both be [M, K]");
  RF_CHECK(temp > 0, "soft_cross_entropy: temperature must be > 0");
  return SoftCrossEntropyFunction::apply(student_logits, teacher_probs.detach(), temp);
}

}  // namespace radflow::ml::ssl
