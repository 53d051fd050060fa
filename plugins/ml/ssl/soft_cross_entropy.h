// Cross-entropy of the student's softmax(logits / temp) against teacher distributions,
// one value per row: ce_i = -sum_k t_ik log_softmax(s_i / temp)_k. The DINO and iBOT
// losses are means of it (ssl_losses.cpp).
//
// Same value as composing log_softmax, multiply and sum, with its own backward,
// d ce_i / d s_ik = (sum_k' t_ik' softmax(s_i / temp)_k - t_ik) / temp, which reads the
// saved log-probabilities once instead of running LibTorch's log_softmax backward
// (0.55 s of a 10 s ViT-S step on [1,221 x 65,536] iBOT logits, 2-core machine).
// The targets get no gradient: they come from the teacher, under no_grad.
#pragma once

#include <torch/torch.h>

namespace radflow::ml::ssl {

// student_logits, teacher_probs: [M, K] (any float dtype; computed in float32).
// Returns [M] float32.
torch::Tensor soft_cross_entropy(const torch::Tensor& student_logits, const torch::Tensor& teacher_probs,
                                 double temp);

}  // namespace radflow::ml::ssl
