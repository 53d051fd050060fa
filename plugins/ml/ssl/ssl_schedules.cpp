#include "plugins/ml/ssl/ssl_schedules.h"

#include <cmath>

#include "common/check.h"

namespace radflow::ml::ssl {

CosineSchedule::CosineSchedule(double base_value, double final_value, int64_t total_iters,
                               int64_t warmup_iters, double start_warmup_value,
                               int64_t freeze_iters)
    : base_(base_value),
      final_(final_value),
      start_warmup_(start_warmup_value),
      total_iters_(total_iters),
      warmup_iters_(warmup_iters),
      freeze_iters_(freeze_iters) {
  RF_CHECK(warmup_iters >= 0 && freeze_iters >= 0 &&
               total_iters >= warmup_iters + freeze_iters,
           "CosineSchedule: total_iters must cover warmup and freeze");
}

double CosineSchedule::at(int64_t iteration) const {
  if (iteration >= total_iters_) return final_;
  if (iteration < zero_until_) return 0.0;
  if (iteration < freeze_iters_) return 0.0;
  int64_t i = iteration - freeze_iters_;
  if (i < warmup_iters_) {
    // numpy.linspace with one point returns just the start value.
    if (warmup_iters_ == 1) return start_warmup_;
    return start_warmup_ + (base_ - start_warmup_) * static_cast<double>(i) /
                               static_cast<double>(warmup_iters_ - 1);
  }
  i -= warmup_iters_;
  const double n = static_cast<double>(total_iters_ - warmup_iters_ - freeze_iters_);
  const double kPi = 3.14159265358979323846;
  return final_ + 0.5 * (base_ - final_) * (1.0 + std::cos(kPi * static_cast<double>(i) / n));
}

double scaled_lr(double base_lr, int64_t global_batch_size) {
  return base_lr * std::sqrt(static_cast<double>(global_batch_size) / 1024.0);
}

SslSchedules::SslSchedules(const SslScheduleConfig& c, int64_t global_batch_size)
    : lr_(scaled_lr(c.base_lr, global_batch_size), c.min_lr, c.epochs * c.epoch_length,
          c.warmup_epochs * c.epoch_length, 0.0),
      wd_(c.weight_decay, c.weight_decay_end, c.epochs * c.epoch_length),
      momentum_(c.momentum_teacher, c.final_momentum_teacher, c.epochs * c.epoch_length),
      // total == warmup: a pure linear ramp, then `final` (= teacher_temp) for ever.
      teacher_temp_(c.teacher_temp, c.teacher_temp, c.warmup_teacher_temp_epochs * c.epoch_length,
                    c.warmup_teacher_temp_epochs * c.epoch_length, c.warmup_teacher_temp),
      last_layer_lr_(lr_) {
  last_layer_lr_.zero_first(c.freeze_last_layer_epochs * c.epoch_length);
}

SslScheduleValues SslSchedules::at(int64_t iteration) const {
  SslScheduleValues v;
  v.lr = lr_.at(iteration);
  v.weight_decay = wd_.at(iteration);
  v.teacher_momentum = momentum_.at(iteration);
  v.teacher_temp = teacher_temp_.at(iteration);
  v.last_layer_lr = last_layer_lr_.at(iteration);
  return v;
}

}  // namespace radflow::ml::ssl
