#include "plugins/ml/ssl/ssl_losses.h"

#include <algorithm>

#include "common/check.h"
#include "plugins/ml/ssl/soft_cross_entropy.h"

namespace radflow::ml::ssl {
namespace {

// -mean over rows of sum_k t * log_softmax(s / temp): DINOLoss.forward for one pair.
torch::Tensor cross_entropy_mean(const torch::Tensor& teacher, const torch::Tensor& student_log_softmax) {
  return -(teacher * student_log_softmax).sum(-1).mean();
}

}  // namespace

DinoLossTerms dino_cls_loss(const torch::Tensor& student_global_logits,
                            const torch::Tensor& student_local_logits,
                            const torch::Tensor& teacher_global_probs, int64_t n_global_crops,
                            int64_t n_local_crops, double student_temp) {
  RF_CHECK(n_global_crops >= 1 && n_local_crops >= 0, "dino_cls_loss: bad crop counts");
  RF_CHECK(student_global_logits.dim() == 2 && teacher_global_probs.sizes() == student_global_logits.sizes(),
           "dino_cls_loss: student and teacher global tensors must both be [n_g * B, K]");
  RF_CHECK(student_global_logits.size(0) % n_global_crops == 0, "dino_cls_loss: rows not a multiple of n_g");
  DinoLossTerms terms;
  terms.n_pairs = n_global_crops * (n_global_crops - 1) + std::max<int64_t>(n_local_crops * n_global_crops, 1);
  const auto n_pairs = static_cast<double>(terms.n_pairs);
  const auto teachers = teacher_global_probs.chunk(n_global_crops, 0);

  const torch::Tensor global_lsm = torch::log_softmax(student_global_logits.to(torch::kFloat) / student_temp, -1);
  const auto students = global_lsm.chunk(n_global_crops, 0);
  torch::Tensor global = torch::zeros({}, global_lsm.options());
  for (int64_t s = 0; s < n_global_crops; ++s) {
    for (int64_t t = 0; t < n_global_crops; ++t) {
      if (s != t) global = global + cross_entropy_mean(teachers[static_cast<size_t>(t)], students[static_cast<size_t>(s)]);
    }
  }
  terms.global = global / n_pairs;

  torch::Tensor local = torch::zeros({}, global_lsm.options());
  if (n_local_crops > 0) {
    RF_CHECK(student_local_logits.defined() && student_local_logits.dim() == 2 &&
                 student_local_logits.size(0) == n_local_crops * teachers[0].size(0) &&
                 student_local_logits.size(1) == student_global_logits.size(1),
             "dino_cls_loss: student local logits must be [n_l * B, K]");
    const torch::Tensor local_lsm = torch::log_softmax(student_local_logits.to(torch::kFloat) / student_temp, -1);
    for (const auto& s : local_lsm.chunk(n_local_crops, 0)) {
      for (const auto& t : teachers) local = local + cross_entropy_mean(t, s);
    }
  }
  terms.local = local / n_pairs;
  return terms;
}

torch::Tensor ibot_patch_loss(const torch::Tensor& student_masked_logits,
                              const torch::Tensor& teacher_masked_probs, const torch::Tensor& masks,
                              const torch::Tensor& masks_weight, double student_temp) {
  RF_CHECK(masks.dim() == 2, "ibot_patch_loss: masks must be [n_crops, N]");
  RF_CHECK(student_masked_logits.dim() == 2 && teacher_masked_probs.sizes() == student_masked_logits.sizes(),
           "ibot_patch_loss: student and teacher must both be [M, K]");
  const torch::Tensor m = masks.to(torch::kBool);
  torch::Tensor weight = masks_weight;
  if (!weight.defined()) {
    const torch::Tensor per_crop = 1.0 / m.sum(-1).clamp_min(1).to(torch::kFloat);
    weight = per_crop.unsqueeze(-1).expand_as(m).masked_select(m);
  }
  RF_CHECK(weight.dim() == 1 && weight.size(0) == student_masked_logits.size(0),
           "ibot_patch_loss: one weight per masked patch");
  const torch::Tensor per_patch = soft_cross_entropy(student_masked_logits, teacher_masked_probs, student_temp);
  return (per_patch * weight.to(per_patch.device(), torch::kFloat)).sum() / static_cast<double>(m.size(0));
}

torch::Tensor koleo_loss(const torch::Tensor& features, double eps) {
  RF_CHECK(features.dim() == 2 && features.size(0) >= 2, "koleo_loss: needs [B >= 2, D]");
  namespace F = torch::nn::functional;
  const torch::Tensor x = F::normalize(features.to(torch::kFloat), F::NormalizeFuncOptions().p(2).dim(-1).eps(eps));
  torch::Tensor nn_index;
  {
    torch::NoGradGuard no_grad;  // argmax has no gradient anyway
    torch::Tensor dots = torch::mm(x, x.t());
    dots.fill_diagonal_(-1);
    nn_index = std::get<1>(dots.max(1));
  }
  const torch::Tensor distances =
      F::pairwise_distance(x, x.index_select(0, nn_index), F::PairwiseDistanceFuncOptions().p(2).eps(eps));
  return -torch::log(distances + eps).mean();
}

SslLossTerms ssl_loss(const SslLossInputs& in, const SslLossWeights& w) {
  SslLossTerms out;
  const DinoLossTerms dino = dino_cls_loss(in.student_global_logits, in.student_local_logits,
                                           in.teacher_global_probs, in.n_global_crops, in.n_local_crops,
                                           in.student_temp);
  out.dino_local = dino.local;
  out.dino_global = dino.global;
  const auto opts = dino.global.options();
  out.koleo = torch::zeros({}, opts);
  if (w.koleo != 0 && in.student_global_cls.defined()) {
    for (const auto& crop : in.student_global_cls.chunk(in.n_global_crops, 0)) out.koleo = out.koleo + koleo_loss(crop);
  }
  out.ibot = torch::zeros({}, opts);
  if (w.ibot != 0 && in.student_masked_patch_logits.defined() && in.teacher_masked_patch_probs.defined() &&
      in.masks.defined()) {
    out.ibot = ibot_patch_loss(in.student_masked_patch_logits, in.teacher_masked_patch_probs, in.masks,
                               in.masks_weight, in.student_temp);
  }
  out.total = w.dino * (out.dino_local + out.dino_global) + w.koleo * out.koleo + w.ibot * out.ibot;
  return out;
}

}  // namespace radflow::ml::ssl
