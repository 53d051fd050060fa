#include "plugins/ml/ssl/teacher_centering.h"

#include <cmath>
#include <limits>

#include "common/check.h"

namespace radflow::ml::ssl {

TeacherCentering::TeacherCentering(int64_t out_dim, double center_momentum, CenterReduction reduction,
                                   Collective* collective)
    : center_(torch::zeros({1, out_dim})),
      momentum_(center_momentum),
      reduction_(reduction),
      collective_(collective) {
  RF_CHECK(out_dim > 0, "TeacherCentering: out_dim must be positive");
}

torch::Tensor TeacherCentering::softmax_centered(const torch::Tensor& teacher_logits,
                                                 double teacher_temp) const {
  torch::NoGradGuard no_grad;
  RF_CHECK(teacher_logits.dim() == 2 && teacher_logits.size(1) == center_.size(1),
           "TeacherCentering: logits must be [rows, K]");
  const torch::Tensor t = teacher_logits.to(torch::kFloat);
  return torch::softmax((t - center_.to(t.device())) / teacher_temp, -1);
}

void TeacherCentering::update(const torch::Tensor& teacher_logits) {
  torch::NoGradGuard no_grad;
  RF_CHECK(teacher_logits.dim() == 2 && teacher_logits.size(1) == center_.size(1),
           "TeacherCentering: logits must be [rows, K]");
  const int64_t rows = teacher_logits.size(0);
  const bool distributed = is_distributed(collective_);
  if (rows == 0 && !distributed) return;
  const int64_t k = center_.size(1);
  const torch::Tensor t = teacher_logits.to(torch::kFloat);
  // [1, K + 1]: the numerator of the batch center and, in the last column, its divisor
  // (rows, or 1 per rank that has rows), so one all-reduce carries both and a rank
  // without rows neither blocks the others nor spoils the mean.
  torch::Tensor packed = torch::zeros({1, k + 1}, t.options());
  if (rows > 0) {
    const bool all_rows = reduction_ == CenterReduction::kAllRows;
    packed.narrow(1, 0, k).copy_(all_rows ? t.sum(0, /*keepdim=*/true) : t.mean(0, /*keepdim=*/true));
    packed.narrow(1, k, 1).fill_(all_rows ? static_cast<double>(rows) : 1.0);
  }
  if (distributed) collective_->all_reduce_sum(packed);
  const double divisor = packed.narrow(1, k, 1).item<double>();
  if (divisor == 0) return;
  const torch::Tensor batch_center = packed.narrow(1, 0, k) / divisor;
  center_ = center_.to(t.device()) * momentum_ + batch_center * (1.0 - momentum_);
}

void TeacherCentering::set_center(const torch::Tensor& center) {
  RF_CHECK(center.sizes() == center_.sizes(), "TeacherCentering: center shape mismatch");
  center_ = center.detach().to(torch::kFloat).clone();
}

torch::Tensor sinkhorn_knopp(const torch::Tensor& teacher_logits, double teacher_temp,
                             int64_t iterations, Collective* collective) {
  torch::NoGradGuard no_grad;
  RF_CHECK(teacher_logits.dim() == 2, "sinkhorn_knopp: logits must be [B, K]");
  const bool distributed = is_distributed(collective);
  torch::Tensor t = teacher_logits.to(torch::kFloat);
  torch::Tensor max = t.numel() > 0 ? t.max().reshape({1})
                                    : torch::full({1}, -std::numeric_limits<float>::infinity(), t.options());
  if (distributed) collective->all_reduce_max(max);
  if (std::isfinite(max.item<float>())) t = t - max;
  torch::Tensor q = torch::exp(t / teacher_temp).t();  // K x B
  const auto k = static_cast<double>(q.size(0));
  // Row count and total mass in one call.
  torch::Tensor counts = torch::stack({torch::full({}, static_cast<double>(q.size(1)), q.options()), q.sum()});
  if (distributed) collective->all_reduce_sum(counts);
  const double b = counts[0].item<double>();
  q = q / counts[1];
  for (int64_t it = 0; it < iterations; ++it) {
    torch::Tensor row_sums = q.sum(1, /*keepdim=*/true);
    if (distributed) collective->all_reduce_sum(row_sums);
    q = q / row_sums / k;
    q = q / q.sum(0, /*keepdim=*/true) / b;
  }
  return (q * b).t();
}

}  // namespace radflow::ml::ssl
