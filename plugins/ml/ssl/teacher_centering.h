// Teacher targets of the DINOv2 losses (dinov2/loss/{dino_clstoken,ibot_patch}_loss.py;
// research/raddino-method.md §2.2): softmax((t - c) / tau_t) with an EMA center c, or
// Sinkhorn-Knopp normalisation (3 iterations). The sums that span all ranks go through
// an optional Collective so a multi-process trainer can plug its all-reduce in; with
// none, everything is local (world size 1).
//
// TeacherCentering owns its center tensor; not thread-safe (one per loss, updated by
// the training loop). sinkhorn_knopp() is a pure function.
#pragma once

#include <cstdint>
#include <functional>

#include <torch/torch.h>

namespace radflow::ml::ssl {

struct Collective {
  // Sums the tensor in place over all ranks (blocking). Empty: single process.
  std::function<void(torch::Tensor&)> all_reduce_sum;
  int64_t world_size = 1;
};

// How one step's batch center is formed before the EMA.
enum class CenterReduction {
  // DINO CLS center: sum of every row on every rank / (rows * world_size).
  kAllRows,
  // iBOT patch center as DINOv2 computes it: each rank's mean over its masked-patch
  // rows, averaged over ranks. Identical to kAllRows in a single process.
  kMeanOfRankMeans,
};

class TeacherCentering {
 public:
  // center starts at zeros [1, K]. center_momentum 0.9 as DINOv2.
  explicit TeacherCentering(int64_t out_dim, double center_momentum = 0.9,
                            CenterReduction reduction = CenterReduction::kAllRows,
                            Collective collective = {});

  // softmax((teacher_logits - center) / teacher_temp) over the last dim, fp32, no grad.
  // teacher_logits: [rows, K].
  torch::Tensor softmax_centered(const torch::Tensor& teacher_logits, double teacher_temp) const;

  // center <- m * center + (1 - m) * batch_center(teacher_logits). DINOv2 defers this to
  // the start of the next step; calling it after this step's targets are formed gives
  // the same numbers. Rows == 0 leaves the center unchanged.
  void update(const torch::Tensor& teacher_logits);

  const torch::Tensor& center() const { return center_; }
  void set_center(const torch::Tensor& center);  // e.g. when resuming; [1, K]
  double center_momentum() const { return momentum_; }

 private:
  torch::Tensor center_;
  double momentum_;
  CenterReduction reduction_;
  Collective collective_;
};

// DINOv2's sinkhorn_knopp_teacher on teacher_logits [B, K] (fp32):
// Q = exp(t / tau)^T (K x B); Q /= sum(Q); `iterations` times { divide rows by their
// sums and by K; divide columns by their sums and by B_total }; return (Q * B_total)^T,
// whose rows sum to 1. B_total is the row count summed over ranks (for iBOT: all masked
// patches). Row and total sums are all-reduced through `collective`. In a single
// process the global max is subtracted before exp (the constant cancels in Q /= sum(Q));
// across ranks it is not, as in the reference, because the hook only sums.
torch::Tensor sinkhorn_knopp(const torch::Tensor& teacher_logits, double teacher_temp,
                             int64_t iterations = 3, const Collective& collective = {});

}  // namespace radflow::ml::ssl
