// The tiny SslTrainer configuration and data that the multi-rank trainer case and its
// single-process reference share, so both sides build bit-identical trainers.
// Header-only; value functions.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "plugins/ml/ssl/ssl_rng.h"
#include "plugins/ml/ssl/ssl_trainer.h"

namespace radflow::ml::ssl::testing {

inline constexpr int64_t kGlobalBatch = 4;  // 2 images per rank: KoLeo needs >= 2 rows

inline DinoHeadOptions tiny_head() {
  DinoHeadOptions o;
  o.out_dim = 64;
  o.hidden_dim = 32;
  o.bottleneck_dim = 16;
  return o;
}

// No lr warm-up and no last-layer freeze: the first step moves every parameter, so the
// post-step parameters are compared as well as the gradients.
inline SslScheduleConfig tiny_schedule() {
  SslScheduleConfig s;
  s.epochs = 10;
  s.epoch_length = 10;
  s.base_lr = 5e-2;
  s.min_lr = 1e-5;
  s.warmup_epochs = 0;
  s.momentum_teacher = 0.9;
  s.warmup_teacher_temp = s.teacher_temp = 0.04;
  s.warmup_teacher_temp_epochs = 1;
  s.freeze_last_layer_epochs = 0;
  return s;
}

// KoLeo weight 0 and drop path 0: KoLeo is computed per rank (nearest neighbours within
// the rank's batch, as DINOv2) and drop path draws per rank, so with either on, N ranks
// legitimately differ from one process on the concatenated batch.
inline SslTrainerOptions tiny_options(TeacherTargets targets) {
  SslTrainerOptions o;
  o.seed = 21;
  o.global_batch_size = kGlobalBatch;
  o.student_drop_path_rate = 0.0;
  o.loss_weights.koleo = 0.0;
  o.teacher_targets = targets;
  o.separate_ibot_head = targets == TeacherTargets::kSinkhorn;
  o.crops.global_crop_size = 28;
  o.crops.local_crop_size = 14;
  o.crops.n_local_crops = 2;
  o.masking.mask_probability = 0.5;
  return o;
}

inline SslTrainer make_trainer(TeacherTargets targets, std::shared_ptr<Collective> collective = nullptr) {
  SslTrainerOptions options = tiny_options(targets);
  options.collective = std::move(collective);
  return SslTrainer(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(), options);
}

// Seeded images with structure (a bright disc at a random place) so crops differ.
inline torch::Tensor global_batch_images(int64_t step) {
  SslRng rng(1000 + static_cast<uint64_t>(step));
  const int64_t size = 32;
  const torch::Tensor c = torch::arange(size, torch::kFloat) / static_cast<float>(size);
  const torch::Tensor yy = c.view({size, 1}).expand({size, size}), xx = c.view({1, size}).expand({size, size});
  std::vector<torch::Tensor> images;
  for (int64_t i = 0; i < kGlobalBatch; ++i) {
    const double cx = rng.uniform(0.2, 0.8), cy = rng.uniform(0.2, 0.8), r = rng.uniform(0.1, 0.3);
    const torch::Tensor disc = ((xx - cx).square() + (yy - cy).square()) < r * r;
    images.push_back(torch::where(disc, torch::full({size, size}, 0.9f), torch::full({size, size}, 0.1f))
                         .unsqueeze(0));
  }
  return torch::stack(images);
}

// What a rank reports and the reference computes: the reduced gradients and the
// parameters after each step, then the centers and [total, ibot, n_masked] per step.
inline std::vector<torch::Tensor> trainer_outcome(SslTrainer& trainer, const std::vector<StepStats>& stats) {
  std::vector<torch::Tensor> out;
  for (const auto& p : trainer.student()->parameters()) {
    out.push_back(p.grad().defined() ? p.grad().detach().clone() : torch::zeros_like(p));
    out.push_back(p.detach().clone());
  }
  out.push_back(trainer.dino_center().center().clone());
  out.push_back(trainer.ibot_center().center().clone());
  for (const auto& s : stats) {
    out.push_back(torch::tensor({s.total_loss, s.ibot_loss, static_cast<double>(s.n_masked_patches),
                                 s.teacher_entropy, s.teacher_feature_std}, torch::kDouble));
  }
  return out;
}

}  // namespace radflow::ml::ssl::testing
