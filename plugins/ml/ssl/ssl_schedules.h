// The DINOv2 per-iteration schedules (dinov2/utils/utils.py CosineScheduler and
// dinov2/train/train.py build_schedulers): lr, weight decay, teacher momentum, teacher
// temperature warm-up and the last-layer lr with its freeze; plus the sqrt lr scaling
// rule. research/raddino-method.md §2.4 and §2.8.
//
// Plain values, torch-free; const methods are safe from any thread.
#pragma once

#include <cstdint>

namespace radflow::ml::ssl {

// CosineScheduler: `freeze_iters` zeros, then `warmup_iters` values of
// linspace(start_warmup_value, base_value, warmup_iters) (endpoint included, as
// numpy), then final + (base - final)(1 + cos(pi i / n)) / 2 for i in [0, n),
// n = total - warmup - freeze. At and past total_iters it returns final_value.
class CosineSchedule {
 public:
  // Preconditions (checked): total_iters >= warmup_iters + freeze_iters >= 0.
  CosineSchedule(double base_value, double final_value, int64_t total_iters,
                 int64_t warmup_iters = 0, double start_warmup_value = 0.0,
                 int64_t freeze_iters = 0);

  double at(int64_t iteration) const;
  // Overwrites the first `iterations` values with 0 (train.py does this to the
  // last-layer lr schedule: `schedule[:freeze_last_layer_epochs * epoch_len] = 0`).
  void zero_first(int64_t iterations) { zero_until_ = iterations; }

  int64_t total_iters() const { return total_iters_; }

 private:
  double base_, final_, start_warmup_;
  int64_t total_iters_, warmup_iters_, freeze_iters_;
  int64_t zero_until_ = 0;
};

// ssl_default_config.yaml defaults (ViT-B recipe).
struct SslScheduleConfig {
  int64_t epochs = 100;
  int64_t epoch_length = 1250;  // OFFICIAL_EPOCH_LENGTH, whatever the dataset size
  double base_lr = 4e-3;        // scaled by sqrt(global_batch / 1024)
  double min_lr = 1e-6;
  int64_t warmup_epochs = 10;
  double weight_decay = 0.04;
  double weight_decay_end = 0.4;
  double momentum_teacher = 0.992;
  double final_momentum_teacher = 1.0;
  double warmup_teacher_temp = 0.04;
  double teacher_temp = 0.07;
  int64_t warmup_teacher_temp_epochs = 30;
  int64_t freeze_last_layer_epochs = 1;
};

// DINOv2's scaling_rule "sqrt_wrt_1024": base_lr * sqrt(global_batch / 1024).
double scaled_lr(double base_lr, int64_t global_batch_size);

struct SslScheduleValues {
  double lr = 0;             // peak-scaled, before per-group multipliers
  double weight_decay = 0;   // before per-group multipliers
  double teacher_momentum = 0;
  double teacher_temp = 0;
  double last_layer_lr = 0;  // 0 while the last layer is frozen
};

// The five schedules of one run. Value type.
class SslSchedules {
 public:
  SslSchedules(const SslScheduleConfig& config, int64_t global_batch_size);
  SslScheduleValues at(int64_t iteration) const;
  int64_t total_iters() const { return lr_.total_iters(); }

  const CosineSchedule& lr() const { return lr_; }
  const CosineSchedule& weight_decay() const { return wd_; }
  const CosineSchedule& teacher_momentum() const { return momentum_; }
  const CosineSchedule& teacher_temp() const { return teacher_temp_; }
  const CosineSchedule& last_layer_lr() const { return last_layer_lr_; }

 private:
  CosineSchedule lr_, wd_, momentum_, teacher_temp_, last_layer_lr_;
};

}  // namespace radflow::ml::ssl
