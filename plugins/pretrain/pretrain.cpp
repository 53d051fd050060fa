// pretrain: DINOv2-style self-supervised training of a ViT on the images of a dataset
// (image-level DINO loss on multi-crop views + iBOT masked patches + KoLeo), with an
// EMA teacher; the teacher backbone becomes the step's encoder. Params: see
// pretrain_config.h and README.md.
//
// Multi-rank: with WORLD_SIZE > 1 (one radflow-worker per rank, torchrun env) the ranks
// join a c10d process group and each steps on its shard of the same global batch.
// Only rank 0 writes metrics, checkpoints and the encoder and registers the output (the
// worker checks outputs on rank 0 only; all ranks share the attempt's outputs folder).
//
// The step resumes: every `checkpoint_every` iterations the whole trainer state is saved
// beside the step's attempts, and a retried or restarted attempt continues from there.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "plugins/ml/data/manifest.h"
#include "plugins/ml/image/display.h"
#include "plugins/ml/image/image_reader.h"
#include "plugins/ml/image/rad_dino_preprocess.h"
#include "plugins/ml/ssl/epoch_sampler.h"
#include "plugins/ml/ssl/process_group_collective.h"
#include "plugins/ml/ssl/ssl_trainer.h"
#include "plugins/ml/torch/checkpoint.h"
#include "plugins/ml/torch/cpu_runtime.h"
#include "plugins/pretrain/pretrain_config.h"
#include "radflow/plugin.hpp"

namespace {

namespace fs = std::filesystem;
namespace ml = radflow::ml;
namespace ssl = radflow::ml::ssl;
using radflow::plugins::pretrain::PretrainConfig;

// Decodes and windows one image to [0, 1] grayscale [1, H, W] at its own resolution,
// shrunk (aspect kept, PIL-style antialiased bicubic) only when its longer side exceeds
// max_side. The random resized crops are taken from this, as DINOv2's RandomResizedCrop
// crops the decoded image: no resize to the crop size first, so local crops are not
// upsampled from an already shrunk image.
torch::Tensor load_image(const std::string& path, int64_t max_side) {
  auto image = ml::read_image(path);
  if (!image.ok()) throw std::runtime_error(path + ": " + image.status().message());
  std::vector<float> values = ml::display_frame(*image, 0);
  const int channels = image->samples_per_pixel;
  int rows = image->rows, cols = image->cols;
  const int longer = std::max(rows, cols);
  if (longer > max_side) {
    const double scale = static_cast<double>(max_side) / longer;
    const int new_rows = std::max(1, static_cast<int>(std::lround(rows * scale)));
    const int new_cols = std::max(1, static_cast<int>(std::lround(cols * scale)));
    values = ml::resize_bicubic(values, rows, cols, channels, new_rows, new_cols);
    rows = new_rows, cols = new_cols;
  }
  return torch::from_blob(values.data(), {rows, cols, channels}, torch::kFloat32)
      .permute({2, 0, 1})
      .mean(0, true)  // grayscale: colour images are averaged
      .clamp(0.0, 1.0)  // bicubic overshoots
      .clone();
}

// The training images' paths in manifest order; with fraction < 1, a subset of
// round(fraction * n) (at least 1) drawn with the seed, kept in manifest order.
std::vector<std::string> training_paths(const ml::data::Manifest& manifest, double fraction, uint64_t seed) {
  std::vector<std::string> paths;
  for (const auto& record : manifest.records) {
    if (record.split == ml::data::Split::kTrain) paths.push_back(manifest.resolve(record.path));
  }
  if (fraction >= 1 || paths.empty()) return paths;
  const auto keep = std::max<int64_t>(1, std::llround(fraction * static_cast<double>(paths.size())));
  auto gen = at::detail::createCPUGenerator(seed ^ 0x7261646672616374ULL);
  auto order = torch::randperm(static_cast<int64_t>(paths.size()), gen, torch::kInt64).slice(0, 0, keep);
  auto chosen = std::get<0>(order.sort());
  std::vector<std::string> subset;
  for (int64_t i = 0; i < keep; ++i) subset.push_back(paths[static_cast<size_t>(chosen[i].item<int64_t>())]);
  return subset;
}

// All training images, each [1, H, W] at its own (bounded) size. Preloaded (the
// shuffled batches need random access; decoding a few hundred DICOMs takes about a
// second), with a progress line.
std::vector<torch::Tensor> load_training_images(radflow::sdk::Context& ctx, const std::vector<std::string>& paths,
                                                int64_t max_side, bool log) {
  std::vector<torch::Tensor> images;
  const size_t report_every = std::max<size_t>(1, paths.size() / 4);
  for (size_t i = 0; i < paths.size(); ++i) {
    images.push_back(load_image(paths[i], max_side));
    if (log && ((i + 1) % report_every == 0 || i + 1 == paths.size())) {
      ctx.log_info("decoded " + std::to_string(i + 1) + " of " + std::to_string(paths.size()) +
                   " training images");
    }
  }
  return images;
}

// Replaces `folder` by a fresh save, so a crash mid-save leaves the previous
// checkpoint (or none) but never a mix of two.
radflow::Status save_atomically(const ssl::SslTrainer& trainer, const fs::path& folder) {
  const fs::path tmp = folder.string() + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  if (radflow::Status s = trainer.save(tmp.string()); !s.ok()) return s;
  fs::remove_all(folder, ec);
  fs::rename(tmp, folder, ec);
  if (ec) return radflow::Status::error("io_error", "cannot rename " + tmp.string() + ": " + ec.message());
  return radflow::Status();
}

void report(radflow::sdk::Context& ctx, const ssl::StepStats& stats, int64_t iterations) {
  const int64_t it = stats.iteration;
  ctx.metric("loss.total", it, stats.total_loss);
  ctx.metric("loss.dino_local", it, stats.dino_local_loss);
  ctx.metric("loss.dino_global", it, stats.dino_global_loss);
  ctx.metric("loss.ibot", it, stats.ibot_loss);
  ctx.metric("loss.koleo", it, stats.koleo_loss);
  ctx.metric("lr", it, stats.lr);
  ctx.metric("weight_decay", it, stats.weight_decay);
  ctx.metric("teacher_momentum", it, stats.teacher_momentum);
  ctx.metric("teacher_temp", it, stats.teacher_temp);
  ctx.metric("images_per_second", it, stats.images_per_second);
  ctx.metric("collapse.teacher_entropy", it, stats.teacher_entropy);
  ctx.metric("collapse.teacher_batch_entropy", it, stats.teacher_batch_entropy);
  ctx.metric("collapse.teacher_feature_std", it, stats.teacher_feature_std);
  ctx.progress(static_cast<double>(it + 1) / iterations,
               "iteration " + std::to_string(it + 1) + " of " + std::to_string(iterations));
}

int fail(radflow::sdk::Context& ctx, const std::string& message) {
  ctx.fail(message);
  return RF_RUN_FAILED;
}

int run(radflow::sdk::Context& ctx) {
  ml::configure_cpu_runtime();
  auto env = ssl::process_group_config_from_env();
  if (!env.ok()) return fail(ctx, "bad multi-rank environment: " + env.status().to_string());
  ssl::ProcessGroupConfig pg = env.value();
  const bool leader = pg.rank == 0;

  auto parsed = radflow::plugins::pretrain::pretrain_config(ctx.params(), pg.world_size);
  if (!parsed.ok()) return fail(ctx, parsed.status().message());
  PretrainConfig config = parsed.value();
  if (config.device == "cuda") {
    // The scheduler gives the step its GPUs (CUDA_VISIBLE_DEVICES) and each rank its
    // device, cuda:<rank mod gpus>: ctx.device().
    const std::string placed = ctx.device();
    if (placed.rfind("cuda", 0) != 0 || !torch::cuda::is_available()) {
      return fail(ctx, "param 'device' is cuda but this worker sees no CUDA device (placed on " + placed +
                           ", LibTorch " + (torch::cuda::is_available() ? "with" : "without") +
                           " CUDA): give the step resources.gpus, or use device cpu");
    }
    config.options.device = torch::Device(placed);
  }
  const std::string rank_name = "rank " + std::to_string(pg.rank) + " of " + std::to_string(pg.world_size);

  auto manifest = ml::data::read_manifest((fs::path(ctx.input("dataset")) / "manifest.csv").string());
  if (!manifest.ok()) return fail(ctx, manifest.status().to_string());
  const auto paths = training_paths(*manifest, config.train_fraction, config.seed);
  if (leader && config.train_fraction < 1) {
    ctx.log_info("train_fraction " + std::to_string(config.train_fraction) + ": training on " +
                 std::to_string(paths.size()) + " images");
  }
  const std::vector<torch::Tensor> all = load_training_images(ctx, paths, config.max_image_side, leader);
  const auto n_images = static_cast<int64_t>(all.size());
  if (n_images < 2) {
    return fail(ctx, "the dataset has " + std::to_string(n_images) +
                         " training image(s); pretraining needs at least 2");
  }

  if (pg.world_size > 1) {
    pg.backend = config.device == "cuda" && ssl::nccl_available() ? ssl::CollectiveBackend::kNccl
                                                                   : ssl::CollectiveBackend::kGloo;
    auto coll = ssl::make_process_group_collective(pg);  // blocks until all ranks join
    if (!coll.ok()) return fail(ctx, rank_name + ": " + coll.status().to_string());
    config.options.collective = coll.value();
  }
  if (!config.init_checkpoint.empty()) {
    // The position embedding keeps the checkpoint's native grid (37 x 37 for
    // microsoft/rad-dino); every crop size is interpolated from it.
    auto checkpoint = ml::read_checkpoint_config(config.init_checkpoint);
    radflow::Status grid = checkpoint.ok() ? radflow::plugins::pretrain::adopt_checkpoint_grid(config, *checkpoint)
                                           : checkpoint.status();
    if (!grid.ok()) return fail(ctx, "param 'init_checkpoint' (" + config.init_checkpoint + "): " + grid.to_string());
  }
  const int64_t B = config.batch_size;
  const int64_t iterations = config.iterations;
  if (leader) {
    ctx.log_info("pretraining a ViT-" + config.arch + " (" + std::to_string(config.vit.embed_dim) + " wide, " +
                 std::to_string(config.vit.depth) + " deep) on " + std::to_string(n_images) +
                 " training images, crops " + std::to_string(config.image_size) + " / " +
                 std::to_string(config.options.crops.local_crop_size) + " px (position grid " +
                 std::to_string(config.vit.grid_size()) + "x" + std::to_string(config.vit.grid_size()) + "), " +
                 std::to_string(pg.world_size) + " rank(s) x " + std::to_string(B) + " images, peak lr " +
                 std::to_string(config.peak_lr) + ", on " + config.options.device.str() +
                 (config.options.device.is_cuda() && config.options.bf16_autocast ? " (bf16 autocast)" : ""));
  }
  ssl::SslTrainer trainer(config.vit, config.head, config.head, config.schedule, config.options);
  if (!config.init_checkpoint.empty()) {
    // Continued pretraining (RAD-DINO starts from DINOv2): the same weights into the
    // student and the teacher backbone; the heads start fresh, as in the paper.
    for (ml::VisionTransformer* backbone : {&trainer.student()->backbone, &trainer.teacher()->backbone}) {
      auto loaded = ml::load_checkpoint(*backbone, config.init_checkpoint);
      if (!loaded.ok()) {
        return fail(ctx, "param 'init_checkpoint' (" + config.init_checkpoint + "): " + loaded.status().to_string());
      }
    }
    if (leader) ctx.log_info("initialised the backbone from " + config.init_checkpoint);
  }

  // Resumable: the trainer state lives beside the attempts, not inside one; every rank
  // loads the same folder.
  const char* attempt_dir = std::getenv("RADFLOW_ATTEMPT_DIR");
  const fs::path resume_dir = attempt_dir ? fs::path(attempt_dir).parent_path() / "resume"
                                          : fs::path(ctx.output_dir()) / "resume";
  if (fs::exists(resume_dir / "trainer.json")) {
    radflow::Status loaded = trainer.load(resume_dir.string());
    if (!loaded.ok()) return fail(ctx, "cannot resume from " + resume_dir.string() + ": " + loaded.to_string());
    if (leader) ctx.log_info("resumed at iteration " + std::to_string(trainer.iteration()));
  }
  // Test hook: fail right after the checkpoint at this iteration, as a crash would.
  const char* stop_env = std::getenv("RADFLOW_PRETRAIN_STOP_AFTER");
  const int64_t stop_after = stop_env ? std::atoll(stop_env) : -1;

  // Without replacement: a seeded permutation per epoch, rank r on positions
  // [r B, (r + 1) B) of each global batch; a function of the step alone, so a resumed
  // attempt continues mid-epoch.
  const ssl::EpochSampler sampler(n_images, B, pg.world_size, config.seed);
  if (leader && sampler.repeats_within_batch()) {
    ctx.log_warning(std::to_string(n_images) + " training images for a global batch of " +
                    std::to_string(sampler.global_batch()) + ": batches repeat images");
  }
  try {
    while (trainer.iteration() < iterations) {
      if (ctx.cancelled()) return RF_RUN_CANCELLED;
      const int64_t it = trainer.iteration();
      std::vector<torch::Tensor> batch;
      for (int64_t index : sampler.rank_batch(it, pg.rank)) batch.push_back(all[static_cast<size_t>(index)]);
      const ssl::StepStats stats = trainer.step(batch);
      if (leader) report(ctx, stats, iterations);
      if ((it + 1) % config.checkpoint_every == 0 || it + 1 == iterations) {
        if (leader) {
          radflow::Status saved = save_atomically(trainer, resume_dir);
          if (!saved.ok()) ctx.log_warning("checkpoint not saved: " + saved.to_string());
        }
        if (config.options.collective) config.options.collective->barrier();  // saved before anyone goes on
        if (it + 1 == stop_after) {
          return fail(ctx, "stopped after the checkpoint at iteration " + std::to_string(it + 1) +
                               " (RADFLOW_PRETRAIN_STOP_AFTER)");
        }
      }
    }
  } catch (const std::exception& e) {
    // Collective failures (a peer rank died, a timeout) throw out of step() / barrier().
    return fail(ctx, rank_name + ": training failed at iteration " + std::to_string(trainer.iteration()) +
                         ": " + e.what());
  }
  if (!leader) return RF_RUN_OK;  // rank 0 writes and registers the step's outputs
  if (iterations == 0) ctx.log_info("iterations 0: writing the initialised teacher (random-init baseline)");
  const std::string encoder = ctx.output_path("encoder/model.safetensors");
  radflow::Status saved = ml::save_checkpoint(trainer.teacher()->backbone, encoder);
  if (!saved.ok()) return fail(ctx, saved.to_string());
  ctx.register_output("encoder", fs::path(encoder).parent_path().string());
  return RF_RUN_OK;
}

}  // namespace

RADFLOW_PLUGIN("pretrain", "0.3.0",
               "Self-supervised DINOv2 training (DINO + iBOT + KoLeo, EMA teacher) of a ViT on a "
               "dataset's training images; resumable; multi-rank (one worker per rank, Gloo).",
               radflow::plugins::pretrain::pretrain_params_schema(),
               R"json([{"name":"dataset","description":"a dataset folder with manifest.csv (synth-cxr or dataset)"}])json",
               R"json([{"name":"encoder","description":"the teacher backbone: model.safetensors (Hugging Face Dinov2 layout) and config.json"}])json",
               run)
