// Teacher targets of the DINOv2 losses (dinov2/loss/{dino_clstoken,ibot_patch}_loss.py;
// research/raddino-method.md §2.2): softmax((t - c) / tau_t) with an EMA center c, or
// Sinkhorn-Knopp normalisation (3 iterations). The sums that span all ranks go through
// an optional Collective (collective.h) so a multi-process trainer can plug its
// all-reduce in; with none, everything is local (world size 1).
//
// TeacherCentering owns its center tensor and borrows its Collective (which must
// outlive it); not thread-safe (one per loss, updated by the training loop).
// sinkhorn_knopp() is a pure function of its inputs and the other ranks' inputs.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "plugins/ml/ssl/collective.h"

namespace radflow::ml::ssl {

// How one step's batch center is formed before the EMA.
enum class CenterReduction {
  // DINO CLS center: sum of every row on every rank / number of rows on all ranks.
  kAllRows,
  // iBOT patch center as DINOv2 computes it: each rank's mean over its masked-patch
  // rows, averaged over the ranks (that have rows). Identical to kAllRows in a single
  // process, not across ranks with different row counts.
  kMeanOfRankMeans,
};

class TeacherCentering {
 public:
  // center starts at zeros [1, K]. center_momentum 0.9 as DINOv2.
  explicit TeacherCentering(int64_t out_dim, double center_momentum = 0.9,
                            CenterReduction reduction = CenterReduction::kAllRows,
                            Collective* collective = nullptr);

  // softmax((teacher_logits - center) / teacher_temp) over the last dim, fp32, no grad.
  // teacher_logits: [rows, K].
  torch::Tensor softmax_centered(const torch::Tensor& teacher_logits, double teacher_temp) const;

  // center <- m * center + (1 - m) * batch_center(teacher_logits). DINOv2 defers this to
  // the start of the next step; calling it after this step's targets are formed gives
  // the same numbers. No rows anywhere leaves the center unchanged. Across ranks every
  // rank must call it (one all-reduce), also with zero rows of its own.
  void update(const torch::Tensor& teacher_logits);

  const torch::Tensor& center() const { return center_; }
  void set_center(const torch::Tensor& center);  // e.g. when resuming; [1, K]
  double center_momentum() const { return momentum_; }

 private:
  torch::Tensor center_;
  double momentum_;
  CenterReduction reduction_;
  Collective* collective_;  // borrowed; null: single process
};

// DINOv2's sinkhorn_knopp_teacher on teacher_logits [B, K] (fp32):
// Q = exp(t / tau)^T (K x B); Q /= sum(Q); `iterations` times { divide rows by their
// sums and by K; divide columns by their sums and by B_total }; return (Q * B_total)^T,
// whose rows sum to 1. B_total is the row count summed over ranks (for iBOT: all masked
// patches). Row and total sums are all-reduced through `collective` (borrowed, may be
// null), as is the max subtracted before exp: the constant cancels in Q /= sum(Q), and
// the max over all ranks keeps the result identical to one process on all rows (the
// reference subtracts nothing and can overflow). Every rank calls it, also with B = 0.
torch::Tensor sinkhorn_knopp(const torch::Tensor& teacher_logits, double teacher_temp,
                             int64_t iterations = 3, Collective* collective = nullptr);

}  // namespace radflow::ml::ssl
