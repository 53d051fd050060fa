// features: runs a frozen encoder over every image of a dataset once and writes a
// feature set (plugins/ml/eval/feature_set.h) — CLS, mean patch token and optionally
// per-block patch tokens, with each image's labels, demographics, report and masks —
// that the evaluation plugins (probe, segment, report-gen, demographic-correlation)
// take as their `features` input.
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "plugins/ml/data/manifest.h"
#include "plugins/ml/eval/encoder_features.h"
#include "plugins/ml/eval/feature_set.h"
#include "plugins/ml/torch/cpu_runtime.h"
#include "radflow/plugin.hpp"

namespace {

namespace fs = std::filesystem;
namespace ml = radflow::ml;
using radflow::ml::eval::FeatureRow;

FeatureRow row_of(const ml::data::Manifest& manifest, const ml::data::Record& record) {
  FeatureRow row;
  row.path = manifest.resolve(record.path);
  row.split = ml::data::split_name(record.split);
  row.labels = record.labels;
  row.age = record.age;
  row.sex = record.sex;
  row.report = record.report;
  for (const auto& [structure, path] : record.masks) row.masks[structure] = manifest.resolve(path);
  for (const auto& [key, value] : record.extra) row.extra[key] = value;
  return row;
}

// The raw-pixel baseline every encoder must beat: each image through the encoders'
// preprocessing (resize, centre crop, normalisation, grey) at `pixels` x `pixels`, and the
// flattened pixels as the feature vector. `cls` and `mean_patch` both hold it, so probe
// and demographic-correlation read it unchanged (cls+mean sees it twice: the same fit
// with half the L2 penalty); there are no patch tokens.
int write_pixel_features(radflow::sdk::Context& ctx, const std::string& manifest_path,
                         const std::vector<std::string>& paths, ml::eval::FeatureSet set) {
  const int64_t side = ctx.param<int64_t>("pixels");
  const int64_t dim = side * side;
  torch::Tensor pixels = torch::empty({static_cast<int64_t>(paths.size()), dim}, torch::kFloat32);
  for (size_t i = 0; i < paths.size(); ++i) {
    auto sample = ml::eval::preprocess_image_file(paths[i], side, 1);
    if (!sample.ok()) {
      ctx.fail(sample.status().message());
      return RF_RUN_FAILED;
    }
    std::copy(sample->values.begin(), sample->values.end(), pixels[static_cast<int64_t>(i)].data_ptr<float>());
    if (ctx.cancelled()) return RF_RUN_CANCELLED;
  }
  set.cls = pixels;
  set.mean_patch = pixels;
  set.meta = {{"encoder", "raw pixels"}, {"pixels", side}, {"image_size", side}, {"dim", dim},
              {"dataset", manifest_path}, {"count", paths.size()}, {"preprocess", "microsoft/rad-dino"}};
  const std::string out = ctx.output_path("features");
  radflow::Status written = ml::eval::write_feature_set(out, set);
  if (!written.ok()) {
    ctx.fail(written.to_string());
    return RF_RUN_FAILED;
  }
  ctx.register_output("features", out);
  ctx.log_info("wrote the raw-pixel baseline (" + std::to_string(side) + "x" + std::to_string(side) + ") of " +
               std::to_string(paths.size()) + " images");
  return RF_RUN_OK;
}

int run(radflow::sdk::Context& ctx) {
  const int cpus = ml::configure_cpu_runtime();
  const fs::path dataset = ctx.input("dataset");
  const fs::path manifest_path = fs::is_directory(dataset) ? dataset / "manifest.csv" : dataset;
  if (!fs::is_regular_file(manifest_path)) {
    ctx.fail("dataset has no manifest: " + manifest_path.string() +
             " not found (expected the dataset plugin's output folder)");
    return RF_RUN_FAILED;
  }
  auto manifest = ml::data::read_manifest(manifest_path.string(), {ml::data::SplitRule::kOptional});
  if (!manifest.ok()) {
    ctx.fail(manifest.status().to_string());
    return RF_RUN_FAILED;
  }
  const auto splits = ctx.param<std::vector<std::string>>("splits", {});
  ml::eval::FeatureSet set;
  std::vector<std::string> paths;
  for (const auto& record : manifest->records) {
    FeatureRow row = row_of(*manifest, record);
    if (!splits.empty() && std::find(splits.begin(), splits.end(), row.split) == splits.end()) continue;
    paths.push_back(row.path);
    set.rows.push_back(std::move(row));
  }
  if (paths.empty()) {
    ctx.fail("no images to encode in " + manifest_path.string() +
             (splits.empty() ? "" : " for splits " + ctx.params()["splits"].dump()));
    return RF_RUN_FAILED;
  }

  if (ctx.has_param("pixels")) {
    if (ctx.has_input("encoder")) {
      ctx.fail("param 'pixels' asks for the raw-pixel baseline, which takes no encoder: unbind input 'encoder'");
      return RF_RUN_FAILED;
    }
    return write_pixel_features(ctx, manifest_path.string(), paths, std::move(set));
  }
  if (!ctx.has_input("encoder")) {
    ctx.fail("input 'encoder' is not bound (only the raw-pixel baseline, param 'pixels', runs without one)");
    return RF_RUN_FAILED;
  }
  auto encoder = ml::eval::load_encoder(ctx.input("encoder"));
  if (!encoder.ok()) {
    ctx.fail(encoder.status().message());
    return RF_RUN_FAILED;
  }
  const ml::ViTConfig& config = encoder->model->config();
  ml::eval::EncoderFeatureOptions options;
  options.image_size = ctx.param<int64_t>("image_size", config.image_size);
  options.patch_layers = ctx.param<std::vector<int64_t>>("patch_layers", {});
  options.batch_size = ctx.param<size_t>("batch_size", 16);
  options.threads = static_cast<size_t>(cpus);
  options.device = ctx.device();
  const auto start = std::chrono::steady_clock::now();
  int64_t batch_index = 0;
  options.on_batch = [&](size_t done, size_t total) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ctx.metric("images_per_second", batch_index++, seconds > 0 ? done / seconds : 0.0);
    ctx.progress(static_cast<double>(done) / total,
                 "encoded " + std::to_string(done) + "/" + std::to_string(total) + " images");
    return !ctx.cancelled();
  };
  ctx.log_info("encoding " + std::to_string(paths.size()) + " images of " + manifest_path.string() +
               " at " + std::to_string(options.image_size) + " px with a ViT of width " +
               std::to_string(config.embed_dim) + ", depth " + std::to_string(config.depth) +
               ", patch " + std::to_string(config.patch_size));
  auto features = ml::eval::compute_encoder_features(encoder->model, paths, options);
  if (!features.ok()) {
    if (features.status().code() == "cancelled") return RF_RUN_CANCELLED;
    ctx.fail(features.status().message());
    return RF_RUN_FAILED;
  }
  set.cls = features->cls;
  set.mean_patch = features->mean_patch;
  set.patch_tokens = features->patch_tokens;
  set.layer_cls = features->layer_cls;
  set.grid_h = features->grid_h;
  set.grid_w = features->grid_w;
  set.meta = {{"encoder", encoder->file},
              {"encoder_digest", "sha256:" + encoder->digest},
              {"arch", {{"dim", config.embed_dim}, {"depth", config.depth}, {"patch", config.patch_size},
                        {"heads", config.num_heads}, {"registers", config.num_register_tokens}}},
              {"image_size", features->image_size},
              {"dim", config.embed_dim},
              {"grid", {features->grid_h, features->grid_w}},
              {"patch_layers", nlohmann::json::array()},
              {"dataset", manifest_path.string()},
              {"count", paths.size()},
              {"preprocess", "microsoft/rad-dino"}};
  const std::string out = ctx.output_path("features");
  radflow::Status written = ml::eval::write_feature_set(out, set);
  if (!written.ok()) {
    ctx.fail(written.to_string());
    return RF_RUN_FAILED;
  }
  ctx.register_output("features", out);
  ctx.progress(1.0, "done");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ctx.log_info("wrote features of " + std::to_string(paths.size()) + " images (" +
               std::to_string(seconds > 0 ? paths.size() / seconds : 0.0) + " images/s)");
  return RF_RUN_OK;
}

}  // namespace

constexpr const char* kParamsSchema = R"json({"type":"object","properties":{
    "image_size":{"type":"integer","minimum":1,
                  "description":"input side in pixels, a multiple of the patch size (default: the encoder config's image_size)"},
    "patch_layers":{"type":"array","items":{"type":"integer"},"default":[],
                    "description":"blocks whose normed patch tokens to keep (negative from the end, e.g. [-4,-3,-2,-1]); [] keeps none"},
    "batch_size":{"type":"integer","minimum":1,"maximum":4096,"default":16},
    "pixels":{"type":"integer","minimum":1,"maximum":256,
              "description":"the raw-pixel baseline instead of an encoder: the preprocessed image at pixels x pixels, flattened, as the feature vector (no encoder input)"},
    "splits":{"type":"array","items":{"type":"string","enum":["train","val","test",""]},
              "description":"splits to encode (default: every image)"}},
  "additionalProperties":false})json";

constexpr const char* kInputs = R"json([
  {"name":"encoder","description":"a folder with model.safetensors (+ config.json), e.g. pretrain's encoder, or a .safetensors file; absent for the raw-pixel baseline (param pixels)","optional":true},
  {"name":"dataset","description":"a dataset folder with manifest.csv (the dataset or synth-cxr plugin's output)"}])json";

constexpr const char* kOutputs = R"json([
  {"name":"features","description":"a feature set folder: features.safetensors (cls, mean_patch), patches.safetensors (optional), rows.jsonl, meta.json"}])json";

RADFLOW_PLUGIN("features", "0.1.0",
               "Frozen-encoder features of every image of a dataset (CLS, mean patch token, "
               "optional per-block patch tokens) with their labels, report and masks, for the "
               "evaluation plugins.",
               kParamsSchema, kInputs, kOutputs, run)
