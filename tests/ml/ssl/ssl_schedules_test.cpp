#include "plugins/ml/ssl/ssl_schedules.h"

#include <cmath>

#include <gtest/gtest.h>

namespace radflow::ml::ssl {
namespace {

TEST(CosineSchedule, WarmupIsNumpyLinspaceThenCosineThenFinal) {
  // total 10, warmup 4 from 0 to base 1: linspace(0, 1, 4) = 0, 1/3, 2/3, 1.
  const CosineSchedule s(1.0, 0.0, 10, 4, 0.0);
  EXPECT_DOUBLE_EQ(s.at(0), 0.0);
  EXPECT_DOUBLE_EQ(s.at(1), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.at(3), 1.0);  // endpoint included
  EXPECT_DOUBLE_EQ(s.at(4), 1.0);  // cosine starts at base
  EXPECT_NEAR(s.at(7), 0.5, 1e-15);  // i = 3 of n = 6: cos(pi/2) = 0
  EXPECT_NEAR(s.at(9), 0.5 * (1 + std::cos(M_PI * 5 / 6)), 1e-15);
  EXPECT_DOUBLE_EQ(s.at(10), 0.0);
  EXPECT_DOUBLE_EQ(s.at(1000), 0.0);
}

TEST(CosineSchedule, FreezeAndZeroFirst) {
  CosineSchedule s(2.0, 1.0, 8, 0, 0.0, /*freeze_iters=*/2);
  EXPECT_EQ(s.at(0), 0.0);
  EXPECT_EQ(s.at(1), 0.0);
  EXPECT_DOUBLE_EQ(s.at(2), 2.0);
  s.zero_first(4);
  EXPECT_EQ(s.at(3), 0.0);
  EXPECT_GT(s.at(4), 1.0);
  EXPECT_DOUBLE_EQ(s.at(8), 1.0);
}

TEST(SslSchedules, LrScalingRuleForRadDinoBatch) {
  EXPECT_NEAR(scaled_lr(1.0, 2560), 1.5811388300841898, 1e-15);
  EXPECT_DOUBLE_EQ(scaled_lr(4e-3, 1024), 4e-3);
}

TEST(SslSchedules, DefaultConfigAtKeyIterations) {
  const SslScheduleConfig c;  // 100 epochs x 1250, warmup 10 epochs
  const SslSchedules s(c, 2560);
  const double peak = 4e-3 * std::sqrt(2.5);
  const int64_t total = 125000, warmup = 12500, half = total / 2;
  EXPECT_EQ(s.total_iters(), total);

  const SslScheduleValues v0 = s.at(0);
  EXPECT_EQ(v0.lr, 0.0);
  EXPECT_DOUBLE_EQ(v0.weight_decay, 0.04);
  EXPECT_DOUBLE_EQ(v0.teacher_momentum, 0.992);
  EXPECT_DOUBLE_EQ(v0.teacher_temp, 0.04);
  EXPECT_EQ(v0.last_layer_lr, 0.0);

  EXPECT_NEAR(s.at(warmup - 1).lr, peak, 1e-15);  // end of warmup
  EXPECT_NEAR(s.at(warmup).lr, peak, 1e-15);
  // Midpoint of the cosine part of lr; midpoint of the whole run for wd and momentum.
  EXPECT_NEAR(s.at(warmup + (total - warmup) / 2).lr, 1e-6 + 0.5 * (peak - 1e-6), 1e-12);
  EXPECT_NEAR(s.at(half).teacher_momentum, 0.996, 1e-12);
  EXPECT_NEAR(s.at(half).weight_decay, 0.22, 1e-12);
  EXPECT_NEAR(s.at(total - 1).lr, 1e-6, 1e-9);
  EXPECT_DOUBLE_EQ(s.at(total).lr, 1e-6);
  EXPECT_DOUBLE_EQ(s.at(total).weight_decay, 0.4);
  EXPECT_DOUBLE_EQ(s.at(total).teacher_momentum, 1.0);

  // Teacher temperature: linear 0.04 -> 0.07 over 30 epochs, then constant.
  const int64_t temp_iters = 30 * 1250;
  EXPECT_NEAR(s.at(1000).teacher_temp, 0.04 + 0.03 * 1000.0 / (temp_iters - 1), 1e-15);
  EXPECT_NEAR(s.at(temp_iters - 1).teacher_temp, 0.07, 1e-15);
  EXPECT_DOUBLE_EQ(s.at(temp_iters).teacher_temp, 0.07);
  EXPECT_DOUBLE_EQ(s.at(total + 5).teacher_temp, 0.07);

  // Last layer frozen for epoch 0, then the lr schedule.
  EXPECT_EQ(s.at(1249).last_layer_lr, 0.0);
  EXPECT_GT(s.at(1249).lr, 0.0);
  EXPECT_DOUBLE_EQ(s.at(1250).last_layer_lr, s.at(1250).lr);
}

}  // namespace
}  // namespace radflow::ml::ssl
