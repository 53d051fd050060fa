// pretrain: DINOv2-style self-supervised training of a ViT on the images of a dataset
// (image-level DINO loss on multi-crop views + iBOT masked patches + KoLeo), with an
// EMA teacher; the teacher backbone becomes the step's encoder. Single rank for now.
//
// The step resumes: every `checkpoint_every` iterations the whole trainer state is saved
// beside the step's attempts, and a retried or restarted attempt continues from there.
#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "plugins/ml/data/manifest.h"
#include "plugins/ml/image/display.h"
#include "plugins/ml/image/image_reader.h"
#include "plugins/ml/image/rad_dino_preprocess.h"
#include "plugins/ml/ssl/ssl_trainer.h"
#include "plugins/ml/torch/checkpoint.h"
#include "radflow/plugin.hpp"

namespace {

namespace fs = std::filesystem;
namespace ml = radflow::ml;

// Decodes, windows to [0, 1] and resizes (shortest edge, centre crop) one image.
torch::Tensor load_image(const std::string& path, int64_t size) {
  auto image = ml::read_image(path);
  if (!image.ok()) throw std::runtime_error(image.status().message());
  std::vector<float> values = ml::display_frame(*image, 0);
  const int channels = image->samples_per_pixel;
  auto [rows, cols] = ml::shortest_edge_size(image->rows, image->cols, static_cast<int>(size));
  auto resized = ml::resize_bicubic(values, image->rows, image->cols, channels, rows, cols);
  auto cropped = ml::center_crop(resized, rows, cols, channels, static_cast<int>(size),
                                 static_cast<int>(size));
  auto tensor = torch::from_blob(cropped.data(), {size, size, channels}, torch::kFloat32)
                    .permute({2, 0, 1})
                    .mean(0, true)  // grayscale: colour images are averaged
                    .clone();
  return tensor;
}

ml::ViTConfig architecture(const std::string& arch, int64_t image_size) {
  ml::ViTConfig config = arch == "tiny"    ? ml::vit_tiny_test()
                         : arch == "small" ? ml::vit_small()
                                           : ml::vit_base();
  config.image_size = image_size;
  return config;
}

int run(radflow::sdk::Context& ctx) {
  const char* cpus = std::getenv("RADFLOW_CPUS");
  at::set_num_threads(std::max(1, cpus ? std::atoi(cpus) : 1));
  const std::string arch = ctx.param<std::string>("arch", "tiny");
  const int64_t image_size = ctx.param<int64_t>("image_size", 56);
  const int64_t iterations = ctx.param<int64_t>("iterations", 100);
  const int64_t batch_size = ctx.param<int64_t>("batch_size", 8);
  const int64_t checkpoint_every = ctx.param<int64_t>("checkpoint_every", 50);
  const uint64_t seed = ctx.param<uint64_t>("seed", 0);

  auto manifest = ml::data::read_manifest((fs::path(ctx.input("dataset")) / "manifest.csv").string());
  if (!manifest.ok()) {
    ctx.fail(manifest.status().to_string());
    return RF_RUN_FAILED;
  }
  std::vector<torch::Tensor> images;
  for (const auto& record : manifest->records) {
    if (record.split != ml::data::Split::kTrain) continue;
    images.push_back(load_image(manifest->resolve(record.path), image_size));
  }
  if (static_cast<int64_t>(images.size()) < 2) {
    ctx.fail("the dataset has " + std::to_string(images.size()) +
             " training image(s); pretraining needs at least 2");
    return RF_RUN_FAILED;
  }
  const torch::Tensor all = torch::stack(images);  // [N, 1, S, S]
  ctx.log_info("pretraining a ViT-" + arch + " on " + std::to_string(images.size()) +
               " training images at " + std::to_string(image_size) + " px");

  ml::ViTConfig config = architecture(arch, image_size);
  ml::ssl::DinoHeadOptions head;
  head.in_dim = config.embed_dim;
  head.out_dim = ctx.param<int64_t>("prototypes", arch == "tiny" ? 256 : 65536);
  if (arch == "tiny") head.hidden_dim = 128, head.bottleneck_dim = 64;
  ml::ssl::SslScheduleConfig schedule;
  schedule.epoch_length = std::max<int64_t>(1, iterations / 10);
  schedule.epochs = (iterations + schedule.epoch_length - 1) / schedule.epoch_length;
  schedule.warmup_epochs = 1;
  schedule.warmup_teacher_temp_epochs = std::min<int64_t>(3, schedule.epochs);
  schedule.base_lr = ctx.param<double>("base_lr", schedule.base_lr);
  ml::ssl::SslTrainerOptions options;
  options.seed = seed;
  options.global_batch_size = batch_size;
  options.crops.global_crop_size = image_size;
  options.crops.local_crop_size = std::max<int64_t>(config.patch_size * 2, image_size / 2 / config.patch_size * config.patch_size);
  options.crops.n_local_crops = ctx.param<int64_t>("local_crops", 2);
  options.crops.flip_probability = 0;  // laterality matters in chest radiographs
  ml::ssl::SslTrainer trainer(config, head, head, schedule, options);

  // Resumable: the trainer state lives beside the attempts, not inside one.
  const char* attempt_dir = std::getenv("RADFLOW_ATTEMPT_DIR");
  const fs::path resume_dir = attempt_dir ? fs::path(attempt_dir).parent_path() / "resume"
                                          : fs::path(ctx.output_dir()) / "resume";
  if (fs::exists(resume_dir / "trainer.json")) {
    radflow::Status loaded = trainer.load(resume_dir.string());
    if (!loaded.ok()) {
      ctx.fail("cannot resume from " + resume_dir.string() + ": " + loaded.to_string());
      return RF_RUN_FAILED;
    }
    ctx.log_info("resumed at iteration " + std::to_string(trainer.iteration()));
  }
  while (trainer.iteration() < iterations) {
    if (ctx.cancelled()) return RF_RUN_CANCELLED;
    const int64_t it = trainer.iteration();
    auto gen = at::detail::createCPUGenerator(seed * 1000003 + static_cast<uint64_t>(it));
    auto pick = torch::randint(all.size(0), {batch_size}, gen, torch::kInt64);
    auto stats = trainer.step(all.index_select(0, pick));
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
    ctx.metric("collapse.teacher_feature_std", it, stats.teacher_feature_std);
    ctx.progress(static_cast<double>(it + 1) / iterations,
                 "iteration " + std::to_string(it + 1) + " of " + std::to_string(iterations));
    if ((it + 1) % checkpoint_every == 0 || it + 1 == iterations) {
      radflow::Status saved = trainer.save(resume_dir.string());
      if (!saved.ok()) ctx.log_warning("checkpoint not saved: " + saved.to_string());
    }
  }
  const std::string encoder = ctx.output_path("encoder/model.safetensors");
  radflow::Status saved = ml::save_checkpoint(trainer.teacher()->backbone, encoder);
  if (!saved.ok()) {
    ctx.fail(saved.to_string());
    return RF_RUN_FAILED;
  }
  ctx.register_output("encoder", fs::path(encoder).parent_path().string());
  return RF_RUN_OK;
}

constexpr const char* kParams = R"json({"type":"object","properties":{
  "arch":{"type":"string","enum":["tiny","small","base"],"default":"tiny",
          "description":"ViT size: tiny (test scale, CPU), small (ViT-S/14) or base (ViT-B/14)"},
  "image_size":{"type":"integer","minimum":28,"maximum":1024,"default":56,
                "description":"global crop size in pixels (a multiple of the patch size)"},
  "iterations":{"type":"integer","minimum":1,"maximum":10000000,"default":100},
  "batch_size":{"type":"integer","minimum":2,"maximum":4096,"default":8},
  "local_crops":{"type":"integer","minimum":0,"maximum":16,"default":2},
  "prototypes":{"type":"integer","minimum":16,"maximum":262144,
                "description":"K, the DINO head's output size (default 256 for tiny, 65536 otherwise)"},
  "base_lr":{"type":"number","exclusiveMinimum":0,"default":0.004},
  "checkpoint_every":{"type":"integer","minimum":1,"default":50},
  "seed":{"type":"integer","minimum":0,"default":0}},
  "additionalProperties":false})json";

}  // namespace

RADFLOW_PLUGIN("pretrain", "0.1.0",
               "Self-supervised DINOv2 training (DINO + iBOT + KoLeo, EMA teacher) of a ViT on a "
               "dataset's training images; resumable; single rank.",
               kParams,
               R"json([{"name":"dataset","description":"a dataset folder with manifest.csv (synth-cxr or dataset)"}])json",
               R"json([{"name":"encoder","description":"the teacher backbone: model.safetensors (Hugging Face Dinov2 layout) and config.json"}])json",
               run)
