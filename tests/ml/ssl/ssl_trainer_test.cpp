#include "plugins/ml/ssl/ssl_trainer.h"

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "plugins/ml/ssl/ssl_rng.h"
#include "tests/ml/intra_op_threads.h"
#include "tests/ml/ssl/parameter_snapshot.h"

namespace radflow::ml::ssl {
namespace {

DinoHeadOptions tiny_head() {
  DinoHeadOptions o;
  o.out_dim = 256;
  o.hidden_dim = 128;
  o.bottleneck_dim = 64;
  return o;
}

// Short run: `epochs` of `epoch_length` iterations, constant teacher temperature so the
// loss floor does not move under the test.
SslScheduleConfig tiny_schedule(int64_t epochs, int64_t epoch_length) {
  SslScheduleConfig s;
  s.epochs = epochs;
  s.epoch_length = epoch_length;
  s.base_lr = 5e-2;  // x sqrt(8 / 1024): peak 4.4e-3
  s.min_lr = 1e-5;
  s.warmup_epochs = 1;
  s.weight_decay = 0.04;
  s.weight_decay_end = 0.1;
  s.momentum_teacher = 0.9;  // a teacher that follows within a few dozen steps
  s.warmup_teacher_temp = 0.04;
  s.teacher_temp = 0.04;
  s.warmup_teacher_temp_epochs = 1;
  s.freeze_last_layer_epochs = 1;
  return s;
}

SslTrainerOptions tiny_options(uint64_t seed = 7) {
  SslTrainerOptions o;
  o.seed = seed;
  o.global_batch_size = 8;
  o.student_drop_path_rate = 0.1;
  o.crops.global_crop_size = 56;
  o.crops.local_crop_size = 28;
  o.crops.n_local_crops = 2;
  return o;
}

// Structured grayscale images: a bright ellipse and a bar at random places, on a dim
// background. Seeded, so every run sees the same data set.
torch::Tensor synthetic_images(int64_t n, int64_t size, uint64_t seed) {
  SslRng rng(seed);
  const torch::Tensor coords = torch::arange(size, torch::kFloat) / static_cast<float>(size);
  const torch::Tensor yy = coords.view({size, 1}).expand({size, size});
  const torch::Tensor xx = coords.view({1, size}).expand({size, size});
  std::vector<torch::Tensor> images;
  for (int64_t i = 0; i < n; ++i) {
    torch::Tensor img = torch::full({size, size}, static_cast<float>(rng.uniform(0.05, 0.25)));
    const double cx = rng.uniform(0.2, 0.8), cy = rng.uniform(0.2, 0.8);
    const double a = rng.uniform(0.08, 0.3), b = rng.uniform(0.08, 0.3);
    const torch::Tensor ellipse = ((xx - cx) / a).square() + ((yy - cy) / b).square() < 1.0;
    img = torch::where(ellipse, torch::full_like(img, static_cast<float>(rng.uniform(0.6, 1.0))), img);
    const double bar_pos = rng.uniform(0.1, 0.9), bar_width = rng.uniform(0.03, 0.12);
    const torch::Tensor along = rng.bernoulli(0.5) ? xx : yy;
    const torch::Tensor bar = (along - bar_pos).abs() < bar_width;
    img = torch::where(bar, torch::full_like(img, static_cast<float>(rng.uniform(0.4, 0.8))), img);
    images.push_back(img.unsqueeze(0));
  }
  return torch::stack(images);  // [n, 1, size, size]
}

using testing::snapshot;

bool all_equal(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

// Pins torch to one intra-op thread so reductions run in one fixed order.
class OneThread : public ::radflow::ml::testing::IntraOpThreads {
 public:
  OneThread() : IntraOpThreads(1) {}
};

TEST(SslTrainer, OneStepGivesFiniteTermsThatAddUp) {
  SslTrainer trainer(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 10), tiny_options());
  const StepStats s = trainer.step(synthetic_images(8, 64, 1));
  EXPECT_EQ(s.iteration, 0);
  EXPECT_EQ(trainer.iteration(), 1);
  for (double v : {s.total_loss, s.dino_local_loss, s.dino_global_loss, s.koleo_loss, s.ibot_loss}) {
    EXPECT_TRUE(std::isfinite(v));
  }
  EXPECT_GT(s.dino_local_loss, 0.0);
  EXPECT_GT(s.dino_global_loss, 0.0);
  EXPECT_GT(s.ibot_loss, 0.0);
  EXPECT_GT(s.n_masked_patches, 0);
  EXPECT_NEAR(s.total_loss, s.dino_local_loss + s.dino_global_loss + 0.1 * s.koleo_loss + s.ibot_loss, 1e-4);
  // Two globals, two locals: the local term has 4 pairs of 6, the global 2 of 6, and at
  // init each pair's CE is near log K, so the terms are near 4/6 and 2/6 of log 256.
  EXPECT_NEAR(s.dino_local_loss / s.dino_global_loss, 2.0, 0.2);
  const SslScheduleValues v = trainer.schedules().at(0);
  EXPECT_EQ(s.lr, v.lr);
  EXPECT_EQ(s.teacher_momentum, v.teacher_momentum);
  EXPECT_EQ(s.teacher_temp, 0.04);
  EXPECT_EQ(s.last_layer_lr, 0.0);  // frozen during the first epoch
  EXPECT_GT(s.teacher_entropy, 0.0);
  EXPECT_LE(s.teacher_entropy, std::log(256.0) + 1e-4);
  EXPECT_GT(s.teacher_feature_std, 0.0);
  EXPECT_GT(s.images_per_second, 0.0);
}

// On a GPU: modules and optimizer state live on the device, a bf16-autocast step gives
// finite terms that add up, and the weights stay float32. Skipped without CUDA.
TEST(SslTrainer, TrainsOnCudaUnderBf16Autocast) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  SslTrainerOptions o = tiny_options();
  o.device = torch::Device(torch::kCUDA, 0);
  o.bf16_autocast = true;
  SslTrainer trainer(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 10), o);
  for (int i = 0; i < 2; ++i) {
    const StepStats s = trainer.step(synthetic_images(8, 64, 1 + i));
    for (double v : {s.total_loss, s.dino_local_loss, s.dino_global_loss, s.koleo_loss, s.ibot_loss}) {
      EXPECT_TRUE(std::isfinite(v));
    }
    EXPECT_NEAR(s.total_loss, s.dino_local_loss + s.dino_global_loss + 0.1 * s.koleo_loss + s.ibot_loss, 1e-3);
  }
  for (const auto& p : trainer.student()->parameters()) {
    EXPECT_TRUE(p.device().is_cuda());
    EXPECT_EQ(p.scalar_type(), torch::kFloat);
  }
  for (const auto& p : trainer.teacher()->parameters()) EXPECT_TRUE(p.device().is_cuda());
}

TEST(SslTrainer, SinkhornWithSeparateIbotHeadLeavesCentersAlone) {
  OneThread one_thread;
  SslTrainerOptions options = tiny_options();
  options.teacher_targets = TeacherTargets::kSinkhorn;
  options.separate_ibot_head = true;
  DinoHeadOptions ibot = tiny_head();
  ibot.out_dim = 128;
  SslTrainer trainer(vit_tiny_test(), tiny_head(), ibot, tiny_schedule(10, 10), options);
  ASSERT_TRUE(trainer.student()->ibot_head);
  EXPECT_EQ(trainer.ibot_center().center().size(1), 128);
  const StepStats s = trainer.step(synthetic_images(8, 64, 5));
  EXPECT_TRUE(std::isfinite(s.total_loss));
  EXPECT_GT(s.ibot_loss, 0.0);
  // Sinkhorn targets need no center: both stay at their zero start.
  EXPECT_EQ(trainer.dino_center().center().abs().sum().item<double>(), 0.0);
  EXPECT_EQ(trainer.ibot_center().center().abs().sum().item<double>(), 0.0);
  // The separate iBOT head is trained (step 0 has lr 0 in the warm-up; step 1 moves it).
  trainer.step(synthetic_images(8, 64, 6));
  SslTrainer again(vit_tiny_test(), tiny_head(), ibot, tiny_schedule(10, 10), options);
  EXPECT_FALSE(torch::equal(trainer.student()->ibot_head->mlp->parameters()[0],
                            again.student()->ibot_head->mlp->parameters()[0]));
}

TEST(SslTrainer, EmaMovesTeacherAndMomentumOneFreezesIt) {
  OneThread one_thread;
  const torch::Tensor images = synthetic_images(8, 64, 2);
  {
    SslTrainer trainer(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 2), tiny_options());
    const auto teacher0 = snapshot(*trainer.teacher());
    const auto student0 = snapshot(*trainer.student());
    EXPECT_TRUE(all_equal(teacher0, student0));  // the teacher starts as a copy
    const auto last0 = trainer.student()->dino_head->last_layer_parameters()[0].detach().clone();
    trainer.step(images);
    // Iteration 0 is inside the 2-iteration last-layer freeze: no update there.
    EXPECT_TRUE(torch::equal(trainer.student()->dino_head->last_layer_parameters()[0], last0));
    trainer.step(images);
    trainer.step(images);
    EXPECT_FALSE(torch::equal(trainer.student()->dino_head->last_layer_parameters()[0], last0));
    EXPECT_FALSE(all_equal(snapshot(*trainer.teacher()), teacher0));
    // The teacher moved toward the student, and only part of the way.
    const auto teacher1 = snapshot(*trainer.teacher());
    const auto student1 = snapshot(*trainer.student());
    double before = 0, after = 0;
    for (size_t i = 0; i < student1.size(); ++i) {
      before += (student1[i] - teacher0[i]).square().sum().item<double>();
      after += (student1[i] - teacher1[i]).square().sum().item<double>();
    }
    EXPECT_LT(after, before);
    EXPECT_GT(after, 0.0);
    for (const auto& p : trainer.teacher()->parameters()) EXPECT_FALSE(p.requires_grad());
    EXPECT_FALSE(trainer.teacher()->is_training());
  }
  {
    SslScheduleConfig fixed = tiny_schedule(10, 2);
    fixed.momentum_teacher = fixed.final_momentum_teacher = 1.0;
    SslTrainer trainer(vit_tiny_test(), tiny_head(), tiny_head(), fixed, tiny_options());
    const auto teacher0 = snapshot(*trainer.teacher());
    for (int i = 0; i < 3; ++i) trainer.step(images);
    EXPECT_TRUE(all_equal(snapshot(*trainer.teacher()), teacher0));
    EXPECT_FALSE(all_equal(snapshot(*trainer.student()), teacher0));
  }
}

// AdamW's per-parameter state: keyed by the TensorImpl address, as a string on LibTorch
// 1.13 and as the pointer itself on later versions.
template <class StateMap>
auto find_state(StateMap& state, const torch::Tensor& p) {
  if constexpr (std::is_same_v<typename StateMap::key_type, std::string>) {
    std::ostringstream key;
    key << p.unsafeGetTensorImpl();
    return state.find(key.str());
  } else {
    return state.find(p.unsafeGetTensorImpl());
  }
}

// DINOv2's last-layer freeze is a zero lr for the first epoch(s), nothing more: the
// gradients still reach AdamW, whose moments keep accumulating (train.py has no
// cancel_gradients_last_layer), so the weights stay put while exp_avg is non-zero.
TEST(SslTrainer, LastLayerFreezeIsAZeroLrWithMomentsAccumulating) {
  OneThread one_thread;
  const torch::Tensor images = synthetic_images(8, 64, 3);
  SslTrainer trainer(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 2), tiny_options());
  ASSERT_EQ(trainer.freeze_last_layer_iters(), 2);
  std::vector<torch::Tensor> before;
  for (const auto& p : trainer.student()->dino_head->last_layer_parameters()) before.push_back(p.detach().clone());
  for (int i = 0; i < 2; ++i) trainer.step(images);
  auto& state = trainer.optimizer().optimizer().state();
  const auto last = trainer.student()->dino_head->last_layer_parameters();
  for (size_t i = 0; i < last.size(); ++i) {
    EXPECT_TRUE(torch::equal(last[i], before[i])) << "last-layer tensor " << i << " moved during the freeze";
    auto it = find_state(state, last[i]);
    ASSERT_NE(it, state.end()) << "AdamW has no state for last-layer tensor " << i;
    const auto& adam = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    EXPECT_EQ(adam.step(), 2);
    EXPECT_GT(adam.exp_avg().abs().sum().item<double>(), 0.0);
  }
  trainer.step(images);  // the first iteration after the freeze moves it
  EXPECT_FALSE(torch::equal(last[1], before[1]));
}

// Training spreads the teacher's features: with LayerScale 1e-5 the initial CLS token
// ignores the image (feature std ~0); KoLeo and the DINO/iBOT terms must make it
// image-dependent within a few dozen steps. (The total loss is not asserted to fall:
// on this tiny setup the teacher targets stay nearly image-independent, see the
// batch-entropy monitor, so a falling loss would mean a sharpening constant target.)
TEST(SslTrainer, TrainingSpreadsTeacherFeatures) {
  OneThread one_thread;  // also much faster than 2 contended threads on tiny tensors
  const torch::Tensor data = synthetic_images(32, 64, 3);
  constexpr int64_t kIters = 60;
  SslTrainer trainer(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(15, 10), tiny_options());
  std::vector<StepStats> stats;
  for (int64_t it = 0; it < kIters; ++it) {
    stats.push_back(trainer.step(data.narrow(0, (it * 8) % 32, 8)));
    const StepStats& s = stats.back();
    ASSERT_TRUE(std::isfinite(s.total_loss)) << "iteration " << it;
    ASSERT_GE(s.teacher_entropy, 0.0);
    ASSERT_LE(s.teacher_entropy, std::log(256.0) + 1e-4);
    ASSERT_LE(s.teacher_entropy, s.teacher_batch_entropy + 1e-4);  // concavity of entropy
  }
  double koleo_first = 0, koleo_last = 0;
  for (int i = 0; i < 10; ++i) {
    koleo_first += stats[static_cast<size_t>(i)].koleo_loss / 10;
    koleo_last += stats[static_cast<size_t>(kIters - 10 + i)].koleo_loss / 10;
  }
  EXPECT_LT(stats.front().teacher_feature_std, 1e-3);
  EXPECT_GT(stats.back().teacher_feature_std, 0.03);
  EXPECT_LT(koleo_last, koleo_first - 1.0) << "first " << koleo_first << " last " << koleo_last;
}

TEST(SslTrainer, ResumeContinuesBitForBit) {
  OneThread one_thread;
  const torch::Tensor images = synthetic_images(16, 64, 4);
  auto batch = [&](int64_t it) { return images.narrow(0, (it * 8) % 16, 8); };
  const auto folder = std::filesystem::temp_directory_path() /
                      ("ssl_trainer_test_" + std::to_string(::getpid()));
  SslTrainerOptions options = tiny_options(11);
  options.separate_ibot_head = true;

  SslTrainer straight(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 2), options);
  StepStats straight_last;
  for (int64_t it = 0; it < 5; ++it) straight_last = straight.step(batch(it));

  {
    SslTrainer first(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 2), options);
    for (int64_t it = 0; it < 3; ++it) first.step(batch(it));
    ASSERT_TRUE(first.save(folder.string()).ok());
  }
  SslTrainer resumed(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 2), options);
  resumed.step(batch(0));  // a trainer that has diverged is overwritten by load()
  ASSERT_TRUE(resumed.load(folder.string()).ok());
  EXPECT_EQ(resumed.iteration(), 3);
  StepStats resumed_last;
  for (int64_t it = 3; it < 5; ++it) resumed_last = resumed.step(batch(it));
  std::filesystem::remove_all(folder);

  EXPECT_EQ(resumed_last.total_loss, straight_last.total_loss);
  EXPECT_EQ(resumed_last.ibot_loss, straight_last.ibot_loss);
  EXPECT_TRUE(all_equal(snapshot(*resumed.student()), snapshot(*straight.student())));
  EXPECT_TRUE(all_equal(snapshot(*resumed.teacher()), snapshot(*straight.teacher())));
  EXPECT_TRUE(torch::equal(resumed.dino_center().center(), straight.dino_center().center()));
  EXPECT_TRUE(torch::equal(resumed.ibot_center().center(), straight.ibot_center().center()));
}

// A world of one through the Collective seam is the plain single process, bit for bit
// (no reduction, no zero-filled gradients, the same random streams).
TEST(SslTrainer, LocalCollectiveIsTheSingleProcessPath) {
  OneThread one_thread;
  const torch::Tensor images = synthetic_images(8, 64, 8);
  SslTrainerOptions options = tiny_options(3);
  SslTrainer plain(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 2), options);
  options.collective = std::make_shared<LocalCollective>();
  SslTrainer local(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 2), options);
  for (int i = 0; i < 2; ++i) {
    const StepStats a = plain.step(images), b = local.step(images);
    EXPECT_EQ(a.total_loss, b.total_loss);
    EXPECT_EQ(a.n_masked_patches, b.n_masked_patches);
  }
  EXPECT_TRUE(all_equal(snapshot(*plain.student()), snapshot(*local.student())));
  EXPECT_TRUE(torch::equal(plain.ibot_center().center(), local.ibot_center().center()));
}

// CPU shards (options.cpu_shards) change where the backbones run, not what a step
// computes: without drop path a sharded trainer's gradients and losses follow the
// unsharded one's to float rounding, and with drop path two sharded trainers agree
// bit for bit.
TEST(SslTrainer, ShardedStepsFollowTheUnshardedOnesAndRepeatExactly) {
  const ::radflow::ml::testing::IntraOpThreads two_threads(2);
  const torch::Tensor images = synthetic_images(8, 64, 12);
  SslTrainerOptions options = tiny_options(5);
  options.student_drop_path_rate = 0.0;
  options.cpu_shards = 1;
  SslTrainer plain(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 2), options);
  options.cpu_shards = 2;
  SslTrainer sharded(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 2), options);
  for (int i = 0; i < 3; ++i) {
    const StepStats a = plain.step(images), b = sharded.step(images);
    EXPECT_NEAR(a.total_loss, b.total_loss, 1e-4 * std::abs(a.total_loss)) << "step " << i;
    EXPECT_NEAR(a.koleo_loss, b.koleo_loss, 1e-4 * std::abs(a.koleo_loss) + 1e-6) << "step " << i;
    EXPECT_EQ(a.n_masked_patches, b.n_masked_patches);
    // The gradients the step just applied (AdamW's normalised update would magnify
    // rounding in near-zero gradients, so the parameters are not compared). Rounding
    // reaches them through the sharp teacher targets (temperature 0.04), ~1e-3 of each
    // tensor's largest entry here; a lost or doubled shard would be of its order.
    const auto p = plain.student()->parameters(), q = sharded.student()->parameters();
    ASSERT_EQ(p.size(), q.size());
    for (size_t j = 0; j < p.size(); ++j) {
      ASSERT_EQ(p[j].grad().defined(), q[j].grad().defined()) << "step " << i << ", parameter " << j;
      if (!p[j].grad().defined()) continue;
      const double scale = p[j].grad().abs().max().item<double>();
      EXPECT_TRUE(torch::allclose(q[j].grad(), p[j].grad(), 1e-2, 1e-2 * scale + 1e-12))
          << "step " << i << ", parameter " << j << ": max diff "
          << (q[j].grad() - p[j].grad()).abs().max().item<double>() << " of " << scale;
    }
  }

  options = tiny_options(5);  // drop path 0.1, drawn per shard
  options.cpu_shards = 2;
  SslTrainer first(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 2), options);
  SslTrainer second(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 2), options);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(first.step(images).total_loss, second.step(images).total_loss);
  EXPECT_TRUE(all_equal(snapshot(*first.student()), snapshot(*second.student())));
}

TEST(SslTrainer, LoadReportsMissingFolder) {
  SslTrainer trainer(vit_tiny_test(), tiny_head(), tiny_head(), tiny_schedule(10, 2), tiny_options());
  const Status s = trainer.load("/nonexistent/ssl_trainer_state");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(trainer.iteration(), 0);
}

}  // namespace
}  // namespace radflow::ml::ssl
