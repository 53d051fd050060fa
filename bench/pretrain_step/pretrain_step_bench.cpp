// bench_pretrain_step: training-step throughput of SslTrainer (one full DINOv2 step),
// fp32, and the machine's fp32 matmul rate for the achieved-FLOP/s share (the better of
// a best of 5 square matmuls before and one after the timed steps). A benchmark, never
// a test. Two configurations (--config):
//   vit-s-224 (default): ViT-S/14 at 224 with the default DINOv2 head (K 65536, hidden
//     2048, bottleneck 256), batch 16, 2 global crops (224) + 4 local crops (98), drop
//     path 0.3, centering; 256 x 256 source images. Compute-bound.
//   tiny-demo: the demo workflow's pretrain step (workflows/demo.json: arch tiny,
//     image_size 112, iterations 600, batch_size 16, seed 7), resolved by the pretrain
//     plugin's own pretrain_config(): ViT 96 wide, 4 deep, 4 heads, patch 14, LayerScale
//     1, head K 256 / hidden 128 / bottleneck 64, 2 global crops (112) + 2 local crops
//     (56), no drop path, Sinkhorn-Knopp targets; 128 x 128 source images (synth-cxr's
//     size in the demo). Small operators: per-op costs weigh far more than at ViT-S.
// Both time the full step with the last layer trained (no freeze).
//
// What a timed step includes: everything SslTrainer::step does — multi-crop
// augmentation of the 16 source images (one channel), iBOT block masks,
// teacher forward + heads + centering, student forward + heads, losses, backward,
// per-submodule clipping, AdamW, EMA. The augmentation + mask time is measured
// separately (the per-phase replay below) so it can be taken out for a comparison with
// a reference that feeds pre-made crops.
//
// Output: human-readable lines plus "RESULT key=value" lines for bench/pretrain_step/run.sh.
// Usage: bench_pretrain_step [--config vit-s-224|tiny-demo] [--steps N] [--warmup W]
//                            [--threads T] [--matmul-size S] [--no-profile]
//                            [--profile-reps R] [--trace FILE] [--attention auto|manual]
//                            [--cpu-shards S]
// --profile-reps: the per-phase replay is run R times and each phase's median printed
// (default 1 for vit-s-224, 20 for tiny-demo, whose steps are short). --trace: one
// more step under LibTorch's legacy profiler, its chrome trace JSON written to FILE.
// --attention manual: the ViTs use LibTorch's matmul + softmax attention (as Python)
// instead of the trainer's CPU attention core (plugins/ml/torch/attention_core.h).
// --cpu-shards: SslTrainerOptions::cpu_shards (default 0: one row shard per thread, the
// trainer's default; 1: no sharding, every operator multithreaded).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include "bench/pretrain_step/phase_profile.h"
#include "bench/pretrain_step/step_flops.h"
#include "plugins/ml/torch/cpu_runtime.h"
#include "plugins/ml/ssl/ssl_trainer.h"
#include "plugins/pretrain/pretrain_config.h"

namespace {

using radflow::bench::StepShape;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Args {
  std::string config = "vit-s-224";
  int64_t steps = 3;
  int64_t warmup = 1;
  int64_t threads = 0;  // 0: RADFLOW_CPUS, else the hardware thread count
  int64_t matmul_size = 2048;
  bool profile = true;
  int64_t profile_reps = 0;  // 0: the config's default
  std::string attention = "auto";  // the ViTs' attention backend: auto (the trainer's) or manual
  std::string trace;         // non-empty: one more step under LibTorch's profiler, its trace here
  int64_t cpu_shards = 0;    // SslTrainerOptions::cpu_shards
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
        : a == "--profile-reps" ? next(&args->profile_reps)
        : a == "--cpu-shards" ? next(&args->cpu_shards) : false) continue;
    if (a == "--config" && i + 1 < argc) { args->config = argv[++i]; continue; }
    if (a == "--trace" && i + 1 < argc) { args->trace = argv[++i]; continue; }
    if (a == "--attention" && i + 1 < argc) { args->attention = argv[++i]; continue; }
    if (a == "--no-profile") { args->profile = false; continue; }
    std::fprintf(stderr, "unknown or incomplete argument: %s\n", a.c_str());
    return false;
  }
  if (args->attention != "auto" && args->attention != "manual") {
    std::fprintf(stderr, "--attention must be auto or manual, got %s\n", args->attention.c_str());
    return false;
  }
  if (args->config != "vit-s-224" && args->config != "tiny-demo") {
    std::fprintf(stderr, "--config must be vit-s-224 or tiny-demo, got %s\n", args->config.c_str());
    return false;
  }
  return args->steps > 0 && args->warmup >= 0 && args->matmul_size > 0 && args->profile_reps >= 0 &&
         args->cpu_shards >= 0;
}

// One benchmarked configuration: the trainer's inputs, the FLOP-count shape and the
// source image side.
struct BenchConfig {
  std::string label;
  StepShape shape;
  radflow::ml::ViTConfig vit;
  radflow::ml::ssl::DinoHeadOptions head;
  radflow::ml::ssl::SslScheduleConfig schedule;
  radflow::ml::ssl::SslTrainerOptions options;
  int64_t source_side = 256;
  int64_t profile_reps = 1;
};

BenchConfig vit_s_224() {
  BenchConfig c;
  c.label = "ViT-S/14, batch 16, 2x224 + 4x98 crops, fp32";
  const StepShape& shape = c.shape;
  c.vit = radflow::ml::vit_small();
  c.vit.image_size = 224;  // native 16x16 grid: global crops need no pos-embed resize
  // c.head: DINOv2 defaults: K 65536, hidden 2048, bottleneck 256
  c.schedule.freeze_last_layer_epochs = 0;  // time the full step: last layer updated too
  c.options.seed = 1;
  c.options.global_batch_size = shape.batch;
  c.options.crops.global_crop_size = shape.global_crop;
  c.options.crops.local_crop_size = shape.local_crop;
  c.options.crops.n_local_crops = shape.n_local_crops;
  c.options.student_drop_path_rate = shape.student_drop_path;  // DINOv2 default, subset form
  return c;
}

// The demo's pretrain step, through the plugin's own param resolution.
BenchConfig tiny_demo() {
  const nlohmann::json params = {{"arch", "tiny"}, {"image_size", 112}, {"iterations", 600},
                                 {"batch_size", 16}, {"seed", 7}};
  auto resolved = radflow::plugins::pretrain::pretrain_config(params, 1);
  if (!resolved.ok()) {
    std::fprintf(stderr, "pretrain_config: %s\n", resolved.status().message().c_str());
    std::exit(1);
  }
  const radflow::plugins::pretrain::PretrainConfig& p = resolved.value();
  BenchConfig c;
  c.label = "tiny demo ViT (96 wide, 4 deep, patch 14), batch 16, 2x112 + 2x56 crops, fp32";
  c.vit = p.vit;
  c.head = p.head;
  c.schedule = p.schedule;
  c.schedule.freeze_last_layer_epochs = 0;  // as the demo's steps after its first 60
  c.options = p.options;
  c.source_side = 128;  // synth-cxr's image_size in workflows/demo.json
  c.profile_reps = 20;
  StepShape& s = c.shape;
  s.batch = p.batch_size;
  s.n_local_crops = p.options.crops.n_local_crops;
  s.global_crop = p.options.crops.global_crop_size;
  s.local_crop = p.options.crops.local_crop_size;
  s.patch = p.vit.patch_size;
  s.in_chans = p.vit.in_chans;
  s.embed_dim = p.vit.embed_dim;
  s.depth = p.vit.depth;
  s.mlp_hidden = p.vit.mlp_hidden_dim();
  s.head_hidden = p.head.hidden_dim;
  s.head_bottleneck = p.head.bottleneck_dim;
  s.head_out = p.head.out_dim;
  s.head_layers = p.head.nlayers;
  s.student_drop_path = p.options.student_drop_path_rate;
  return c;
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

  double mm_rate = matmul_rate(args.matmul_size);
  std::printf("fp32 matmul %lldx%lld: %.1f GFLOP/s (best of 5)\n", static_cast<long long>(args.matmul_size),
              static_cast<long long>(args.matmul_size), mm_rate / 1e9);

  const BenchConfig config = args.config == "tiny-demo" ? tiny_demo() : vit_s_224();
  const StepShape& shape = config.shape;
  const radflow::ml::ViTConfig& vit = config.vit;
  ssl::SslTrainerOptions options = config.options;
  options.cpu_shards = args.cpu_shards;
  std::printf("config %s: %s\n", args.config.c_str(), config.label.c_str());
  ssl::SslTrainer trainer(vit, config.head, config.head, config.schedule, options);
  if (args.attention == "manual") {
    // Experiment: LibTorch's matmul + softmax attention instead of the CPU attention core.
    trainer.student()->backbone->set_attention_backend(radflow::ml::AttentionBackend::kManual);
    trainer.teacher()->backbone->set_attention_backend(radflow::ml::AttentionBackend::kManual);
  }
  std::printf("attention backend %s\n", args.attention.c_str());

  torch::manual_seed(42);
  const torch::Tensor images = torch::rand({shape.batch, 1, config.source_side, config.source_side});
  for (int64_t i = 0; i < args.warmup; ++i) {
    const auto start = Clock::now();
    trainer.step(images);
    std::printf("warm-up step %lld: %.2f s\n", static_cast<long long>(i), seconds_since(start));
  }
  double total_seconds = 0, total_flops = 0;
  std::vector<double> step_times;
  for (int64_t i = 0; i < args.steps; ++i) {
    const auto start = Clock::now();
    const ssl::StepStats stats = trainer.step(images);
    const double s = seconds_since(start);
    step_times.push_back(s);
    const double flops = radflow::bench::step_flops(shape, stats.n_masked_patches);
    total_seconds += s;
    total_flops += flops;
    std::printf("step %lld: %.4f s, %lld masked patches, %.1f GFLOP, loss %.4f\n", static_cast<long long>(i), s,
                static_cast<long long>(stats.n_masked_patches), flops / 1e9, stats.total_loss);
  }
  // The matmul rate again after the steps: the better of the two best-of-5s, so that a
  // burst of load on a shared machine during one of them does not set the share.
  const double mm_after = matmul_rate(args.matmul_size);
  std::printf("fp32 matmul again after the steps: %.1f GFLOP/s\n", mm_after / 1e9);
  mm_rate = std::max(mm_rate, mm_after);
  const double step_s = total_seconds / static_cast<double>(args.steps);
  std::vector<double> sorted = step_times;
  std::sort(sorted.begin(), sorted.end());
  const size_t mid = sorted.size() / 2;
  const double median_s = sorted.size() % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
  const double achieved = total_flops / total_seconds;
  std::printf("median step %.4f s; mean step %.4f s, %.2f images/s, %.1f GFLOP/s achieved = %.1f%% of matmul\n",
              median_s, step_s, static_cast<double>(shape.batch) / step_s, achieved / 1e9,
              100.0 * achieved / mm_rate);

  if (!args.trace.empty()) {
    // An operator-level look (chrome trace JSON) at one more step; not in the figures.
    torch::autograd::profiler::RecordProfile guard(args.trace);
    trainer.step(images);
  }
  double augment_s = 0;
  if (args.profile) {
    // Each phase's median over the replays (one replay of a tiny step is too short to
    // read alone).
    const int64_t reps = args.profile_reps > 0 ? args.profile_reps : config.profile_reps;
    std::vector<radflow::bench::PhaseProfile> replays;
    for (int64_t r = 0; r < reps; ++r) {
      replays.push_back(radflow::bench::profile_step(trainer, images, options, vit.patch_size,
                                                     7 + static_cast<uint64_t>(r)));
    }
    radflow::bench::PhaseProfile p = replays.front();
    for (size_t k = 0; k < p.phases.size(); ++k) {
      std::vector<double> times;
      for (const auto& replay : replays) times.push_back(replay.phases[k].second);
      std::sort(times.begin(), times.end());
      const size_t m = times.size() / 2;
      p.phases[k].second = times.size() % 2 ? times[m] : 0.5 * (times[m - 1] + times[m]);
    }
    std::printf("per-phase replay of one step (%lld masked patches; median of %lld replay(s)):\n",
                static_cast<long long>(p.masked_patches), static_cast<long long>(reps));
    for (const auto& [name, s] : p.phases) {
      std::printf("  %-30s %7.4f s  %5.1f%%\n", name.c_str(), s, 100.0 * s / p.total());
    }
    std::printf("  %-30s %7.4f s\n", "total (replay)", p.total());
    augment_s = p.phases.front().second;
    for (const auto& [name, s] : p.phases) std::printf("PHASE %s=%.5f\n", name.c_str(), s);
    std::printf("RESULT profile_reps=%lld\n", static_cast<long long>(reps));
  }
  std::printf("RESULT threads=%lld\n", static_cast<long long>(args.threads));
  std::printf("RESULT matmul_gflops=%.2f\n", mm_rate / 1e9);
  std::printf("RESULT config=%s\n", args.config.c_str());
  std::printf("RESULT batch=%lld\n", static_cast<long long>(shape.batch));
  std::printf("RESULT steps=%lld\n", static_cast<long long>(args.steps));
  std::printf("RESULT step_s=%.5f\n", step_s);
  std::printf("RESULT step_median_s=%.5f\n", median_s);
  std::printf("RESULT images_per_s=%.4f\n", static_cast<double>(shape.batch) / step_s);
  std::printf("RESULT gflop_per_step=%.2f\n", total_flops / static_cast<double>(args.steps) / 1e9);
  std::printf("RESULT achieved_gflops=%.2f\n", achieved / 1e9);
  std::printf("RESULT augment_s=%.5f\n", augment_s);
  return 0;
}
