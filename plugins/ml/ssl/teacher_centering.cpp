#include "plugins/ml/ssl/teacher_centering.h"

#include "common/check.h"

namespace radflow::ml::ssl {

TeacherCentering::TeacherCentering(int64_t out_dim, double center_momentum, CenterReduction reduction,
                                   Collective collective)
    : center_(torch::zeros({1, out_dim})),
      momentum_(center_momentum),
      reduction_(reduction),
      collective_(std::move(collective)) {
  RF_CHECK(out_dim > 0, "TeacherCentering: out_dim must be positive");
  RF_CHECK(collective_.world_size >= 1, "TeacherCentering: world_size must be >= 1");
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
  if (rows == 0) return;
  const torch::Tensor t = teacher_logits.to(torch::kFloat);
  torch::Tensor batch_center;
  double divisor = 0;
  if (reduction_ == CenterReduction::kAllRows) {
    batch_center = t.sum(0, /*keepdim=*/true);
    divisor = static_cast<double>(rows * collective_.world_size);
  } else {
    batch_center = t.mean(0, /*keepdim=*/true);
    divisor = static_cast<double>(collective_.world_size);
  }
  if (collective_.all_reduce_sum) collective_.all_reduce_sum(batch_center);
  batch_center = batch_center / divisor;
  center_ = center_.to(t.device()) * momentum_ + batch_center * (1.0 - momentum_);
}

void TeacherCentering::set_center(const torch::Tensor& center) {
  RF_CHECK(center.sizes() == center_.sizes(), "TeacherCentering: center shape mismatch");
  center_ = center.detach().to(torch::kFloat).clone();
}

torch::Tensor sinkhorn_knopp(const torch::Tensor& teacher_logits, double teacher_temp,
                             int64_t iterations, const Collective& collective) {
  torch::NoGradGuard no_grad;
  RF_CHECK(teacher_logits.dim() == 2, "sinkhorn_knopp: logits must be [B, K]");
  const bool distributed = static_cast<bool>(collective.all_reduce_sum);
  torch::Tensor t = teacher_logits.to(torch::kFloat);
  if (!distributed && t.numel() > 0) t = t - t.max();
  torch::Tensor q = torch::exp(t / teacher_temp).t();  // K x B
  const auto k = static_cast<double>(q.size(0));
  torch::Tensor b_total = torch::full({1}, static_cast<double>(q.size(1)), q.options());
  torch::Tensor sum_q = q.sum().reshape({1});
  if (distributed) {
    collective.all_reduce_sum(b_total);
    collective.all_reduce_sum(sum_q);
  }
  const double b = b_total.item<double>();
  q = q / sum_q;
  for (int64_t it = 0; it < iterations; ++it) {
    torch::Tensor row_sums = q.sum(1, /*keepdim=*/true);
    if (distributed) collective.all_reduce_sum(row_sums);
    q = q / row_sums / k;
    q = q / q.sum(0, /*keepdim=*/true) / b;
  }
  return (q * b).t();
}

}  // namespace radflow::ml::ssl
