// The DINOv2 training objective (research/raddino-method.md §2.3), term by term as
// dinov2/loss/{dino_clstoken,ibot_patch,koleo}_loss.py and ssl_meta_arch.py compute
// them, and the weighted total. Crop-major layout everywhere: a [n_crops * B, ...]
// tensor holds all images' crop 0, then all images' crop 1, and so on.
//
// Pure functions of their inputs; gradients flow into the student tensors only (the
// teacher probabilities are targets).
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace radflow::ml::ssl {

// DINO CLS loss: H(p, s) = -sum_k p_k log_softmax(s / student_temp)_k averaged over rows.
// Student crop g (global) is paired with every *other* teacher global crop (for two
// globals: A with B', B' with A, the swap of ssl_meta_arch); every local crop with every
// teacher global crop. Both terms are divided by
// n_pairs = n_g (n_g - 1) + max(n_l n_g, 1) (the max() is DINOv2's, so without local
// crops the divisor is n_g (n_g - 1) + 1).
struct DinoLossTerms {
  torch::Tensor local;   // scalar; 0 when n_local == 0
  torch::Tensor global;  // scalar
  int64_t n_pairs = 0;
};
// student_global_logits [n_g * B, K]; student_local_logits [n_l * B, K] (undefined or
// empty when n_local == 0); teacher_global_probs [n_g * B, K] in crop order (unswapped).
DinoLossTerms dino_cls_loss(const torch::Tensor& student_global_logits,
                            const torch::Tensor& student_local_logits,
                            const torch::Tensor& teacher_global_probs, int64_t n_global_crops,
                            int64_t n_local_crops, double student_temp = 0.1);

// iBOTPatchLoss.forward_masked: -sum_i w_i sum_k t_ik log_softmax(s_i / temp)_k / n_crops,
// over the M masked patches (rows in masks.flatten() order). masks: [n_crops, N] (all
// global crops, masked or not: the divisor counts unmasked crops too). masks_weight [M]
// defaults to 1 / (masked count of the patch's crop). Logits are upcast to fp32.
torch::Tensor ibot_patch_loss(const torch::Tensor& student_masked_logits,
                              const torch::Tensor& teacher_masked_probs, const torch::Tensor& masks,
                              const torch::Tensor& masks_weight = {}, double student_temp = 0.1);

// KoLeo on one crop batch [B, D]: rows L2-normalised (eps), nearest neighbour by maximum
// dot product (self excluded), -mean log(||x_i - x_nn(i) + eps||_2 + eps) (the inner
// eps is torch.nn.PairwiseDistance's). fp32. B >= 2.
torch::Tensor koleo_loss(const torch::Tensor& features, double eps = 1e-8);

struct SslLossWeights {
  double dino = 1.0;   // dino.loss_weight, on local and global terms
  double ibot = 1.0;   // ibot.loss_weight
  double koleo = 0.1;  // dino.koleo_loss_weight
};

struct SslLossInputs {
  int64_t n_global_crops = 2;
  int64_t n_local_crops = 8;
  torch::Tensor student_global_logits;       // [n_g B, K], head on the student global CLS
  torch::Tensor student_local_logits;        // [n_l B, K], head on the student local CLS
  torch::Tensor teacher_global_probs;        // [n_g B, K], centered/SK teacher targets, crop order
  torch::Tensor student_global_cls;          // [n_g B, D], backbone CLS (x_norm_clstoken) for KoLeo
  torch::Tensor student_masked_patch_logits; // [M, K], head on masked student patch tokens
  torch::Tensor teacher_masked_patch_probs;  // [M, K]
  torch::Tensor masks;                       // [n_g B, N] bool
  torch::Tensor masks_weight;                // [M], optional
  double student_temp = 0.1;
};

struct SslLossTerms {
  torch::Tensor dino_local, dino_global;  // already divided by n_pairs, unweighted
  torch::Tensor koleo;  // sum over global crops of koleo_loss(crop batch), unweighted
  torch::Tensor ibot;   // unweighted; undefined terms (no patch inputs) count as 0
  torch::Tensor total;  // dino (local + global) + koleo weight * koleo + ibot weight * ibot
};

// Skips KoLeo when weights.koleo == 0 or student_global_cls is undefined, and iBOT when
// weights.ibot == 0 or the patch inputs are undefined (those terms are then 0).
SslLossTerms ssl_loss(const SslLossInputs& inputs, const SslLossWeights& weights = {});

}  // namespace radflow::ml::ssl
