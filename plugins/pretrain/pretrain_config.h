// PretrainConfig: the pretrain plugin's params resolved into everything an SslTrainer
// needs (ViT, DINO head, schedules, trainer options), with the per-arch defaults
// applied: "tiny" gets the values that make a small CPU model learn in minutes,
// "small" / "base" keep DINOv2's. Split from pretrain.cpp so tests can build the same
// trainer the plugin builds (tests/ml/eval/pretrain_resume_test.cpp).
//
// Value type; the functions are pure (no I/O) and safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "plugins/ml/ssl/ssl_trainer.h"

namespace radflow::plugins::pretrain {

struct PretrainConfig {
  std::string arch;                // tiny | small | base
  std::string device = "cpu";      // cpu | cuda (one GPU per rank: cuda:LOCAL_RANK of the visible ones)
  int64_t image_size = 56;         // global crop size
  int64_t max_image_side = 112;    // longest image side before cropping (images are cropped at this resolution or their own)
  int64_t iterations = 100;        // 0: write the initialised teacher, no step
  int64_t batch_size = 8;          // per rank
  int64_t checkpoint_every = 50;
  uint64_t seed = 0;
  std::string init_checkpoint;     // empty: DINOv2's random init; else weights to continue from
  double train_fraction = 1.0;     // share of the training images used (a seeded subset)
  double peak_lr = 0;              // the absolute peak lr the schedules reach
  ml::ViTConfig vit;
  ml::ssl::DinoHeadOptions head;
  ml::ssl::SslScheduleConfig schedule;  // base_lr already set so that it peaks at peak_lr
  ml::ssl::SslTrainerOptions options;   // collective left null
};

// Reads and checks `params` (a JSON object) for a run on `world_size` ranks. Errors:
// "invalid_params" naming the param (wrong type, out of range, an arch param given
// for small/base, a crop size that is not a multiple of the patch size, ...).
Result<PretrainConfig> pretrain_config(const nlohmann::json& params, int64_t world_size);

// Continued pretraining: the position embedding keeps the checkpoint's native grid
// (config.vit.image_size := checkpoint.image_size) and is interpolated for every crop
// size. Error "invalid_params" when the patch sizes differ.
Status adopt_checkpoint_grid(PretrainConfig& config, const ml::ViTConfig& checkpoint);

// The JSON schema of the params, every param described.
const char* pretrain_params_schema();

}  // namespace radflow::plugins::pretrain
