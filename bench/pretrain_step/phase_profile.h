// PhaseProfile: a per-phase timing of one DINOv2 step for the pretrain_step benchmark.
// SslTrainer::step() has no timers, so profile_step() replays the same sequence of
// operations (plugins/ml/ssl/ssl_trainer.cpp, single process, centering or Sinkhorn) on the
// trainer's own student, teacher and optimizer, with a stopwatch between phases. It is
// a measurement aid, not a second trainer: the bench prints its total beside the real
// step's time so a drift between the two shows.
//
// Not thread-safe (drives the trainer's modules); modifies the trainer's weights like a
// real step would.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "plugins/ml/ssl/ssl_trainer.h"

namespace radflow::bench {

struct PhaseProfile {
  // (phase name, seconds), in execution order.
  std::vector<std::pair<std::string, double>> phases;
  int64_t masked_patches = 0;
  double total() const;
};

// images: [B, 1, H, W] as for SslTrainer::step. crops / masking: the trainer's options.
PhaseProfile profile_step(ml::ssl::SslTrainer& trainer, const torch::Tensor& images,
                          const ml::ssl::SslTrainerOptions& options, int64_t patch_size, uint64_t seed);

}  // namespace radflow::bench
