// bench_pretrain_step: training-step throughput of SslTrainer (one full DINOv2 step)
// for ViT-S/14 at 224 with the default DINOv2 head (K 65536, hidden 2048, bottleneck
// 256), batch 16, 2 global crops (224) + 4 local crops (98), fp32, and the machine's
// fp32 matmul rate for the achieved-FLOP/s share. A benchmark, never a test.
//
// What a timed step includes: everything SslTrainer::step does — multi-crop
// augmentation of the 16 source images (256 x 256, one channel), iBOT block masks,
// teacher forward + heads + centering, student forward + heads, losses, backward,
// per-submodule clipping, AdamW, EMA. The augmentation + mask time is measured
// separately (the per-phase replay below) so it can be taken out for a comparison with
// a reference that feeds pre-made crops.
//
// Output: human-readable lines plus "RESULT key=value" lines for bench/pretrain_step/run.sh.
// Usage: bench_pretrain_step [--steps N] [--warmup W] [--threads T] [--matmul-size S]
//                            [--no-profile]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <torch/torch.h>

#include "bench/pretrain_step/phase_profile.h"
#include "bench/pretrain_step/step_flops.h"
#include "plugins/ml/torch/cpu_runtime.h"
#include "plugins/ml/ssl/ssl_trainer.h"

namespace {

using radflow::bench::StepShape;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Args {
  int64_t steps = 3;
  int64_t warmup = 1;
  int64_t threads = 0;  // 0: RADFLOW_CPUS, else the hardware thread count
  int64_t matmul_size = 2048;
  bool profile = true;
};

bool parse_args(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](int64_t* out) {
      if (i + 1 >= argc) return false;
      *out = std::atoll(argv[++i]);
      return true;
    };
    if (a == "--steps" ? next(&args->steps) : a == "--warmup" ? next(&args->warmup)
        : a == "--threads" ? next(&args->threads) : a == "--matmul-size" ? next(&args->matmul_size)
        : false) continue;
    if (a == "--no-profile") { args->profile = false; continue; }
    std::fprintf(stderr, "unknown or incomplete argument: %s\n", a.c_str());
    return false;
  }
  return args->steps > 0 && args->warmup >= 0 && args->matmul_size > 0;
}

// Best of several fp32 square matmuls: the machine's practical matmul rate (FLOP/s).
double matmul_rate(int64_t n) {
  torch::manual_seed(0);
  const torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::Tensor c = torch::mm(a, b);  // warm-up: page in, spin up the thread pool
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const auto start = Clock::now();
    c = torch::mm(a, b);
    best = std::min(best, seconds_since(start));
  }
  return 2.0 * static_cast<double>(n) * n * n / best;
}

}  // namespace

int main(int argc, char** argv) {
  namespace ssl = radflow::ml::ssl;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines reach a pipe at once
  Args args;
  if (!parse_args(argc, argv, &args)) return 2;
  if (args.threads <= 0) {
    const char* cpus = std::getenv("RADFLOW_CPUS");
    args.threads = cpus ? std::atoll(cpus) : 0;
    if (args.threads <= 0) args.threads = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  }
  at::set_num_threads(static_cast<int>(args.threads));
  radflow::ml::keep_freed_buffers_for_reuse();  // as every ML plugin does (cpu_runtime.h)
  std::printf("threads %lld, torch %s\n", static_cast<long long>(args.threads), TORCH_VERSION);

  const double mm_rate = matmul_rate(args.matmul_size);
  std::printf("fp32 matmul %lldx%lld: %.1f GFLOP/s (best of 5)\n", static_cast<long long>(args.matmul_size),
              static_cast<long long>(args.matmul_size), mm_rate / 1e9);

  StepShape shape;
  radflow::ml::ViTConfig vit = radflow::ml::vit_small();
  vit.image_size = 224;  // native 16x16 grid: global crops need no pos-embed resize
  ssl::DinoHeadOptions head;  // DINOv2 defaults: K 65536, hidden 2048, bottleneck 256
  ssl::SslScheduleConfig schedule;
  schedule.freeze_last_layer_epochs = 0;  // time the full step: last layer updated too
  ssl::SslTrainerOptions options;
  options.seed = 1;
  options.global_batch_size = shape.batch;
  options.crops.global_crop_size = shape.global_crop;
  options.crops.local_crop_size = shape.local_crop;
  options.crops.n_local_crops = shape.n_local_crops;
  options.student_drop_path_rate = shape.student_drop_path;  // DINOv2 default, subset form
  ssl::SslTrainer trainer(vit, head, head, schedule, options);

  torch::manual_seed(42);
  const torch::Tensor images = torch::rand({shape.batch, 1, 256, 256});
  for (int64_t i = 0; i < args.warmup; ++i) {
    const auto start = Clock::now();
    trainer.step(images);
    std::printf("warm-up step %lld: %.2f s\n", static_cast<long long>(i), seconds_since(start));
  }
  double total_seconds = 0, total_flops = 0;
  for (int64_t i = 0; i < args.steps; ++i) {
    const auto start = Clock::now();
    const ssl::StepStats stats = trainer.step(images);
    const double s = seconds_since(start);
    const double flops = radflow::bench::step_flops(shape, stats.n_masked_patches);
    total_seconds += s;
    total_flops += flops;
    std::printf("step %lld: %.2f s, %lld masked patches, %.1f GFLOP, loss %.4f\n", static_cast<long long>(i), s,
                static_cast<long long>(stats.n_masked_patches), flops / 1e9, stats.total_loss);
  }
  const double step_s = total_seconds / static_cast<double>(args.steps);
  const double achieved = total_flops / total_seconds;
  std::printf("mean step %.2f s, %.2f images/s, %.1f GFLOP/s achieved = %.1f%% of matmul\n", step_s,
              static_cast<double>(shape.batch) / step_s, achieved / 1e9, 100.0 * achieved / mm_rate);

  double augment_s = 0;
  if (args.profile) {
    const radflow::bench::PhaseProfile p = radflow::bench::profile_step(trainer, images, options, vit.patch_size, 7);
    std::printf("per-phase replay of one step (%lld masked patches):\n", static_cast<long long>(p.masked_patches));
    for (const auto& [name, s] : p.phases) {
      std::printf("  %-30s %7.3f s  %5.1f%%\n", name.c_str(), s, 100.0 * s / p.total());
    }
    std::printf("  %-30s %7.3f s\n", "total (replay)", p.total());
    augment_s = p.phases.front().second;
    for (const auto& [name, s] : p.phases) std::printf("PHASE %s=%.4f\n", name.c_str(), s);
  }
  std::printf("RESULT threads=%lld\n", static_cast<long long>(args.threads));
  std::printf("RESULT matmul_gflops=%.2f\n", mm_rate / 1e9);
  std::printf("RESULT step_s=%.4f\n", step_s);
  std::printf("RESULT images_per_s=%.4f\n", static_cast<double>(shape.batch) / step_s);
  std::printf("RESULT gflop_per_step=%.2f\n", total_flops / static_cast<double>(args.steps) / 1e9);
  std::printf("RESULT achieved_gflops=%.2f\n", achieved / 1e9);
  std::printf("RESULT augment_s=%.4f\n", augment_s);
  return 0;
}
