// embed: a frozen encoder's embedding of every image of a folder or manifest, as one
// float32 .npy (N x D CLS, or N x 2D with the mean patch token appended) and the
// row -> image path list beside it. What `radflow embed` runs locally through
// radflow-worker; also usable as a workflow step.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "plugins/ml/data/manifest.h"
#include "plugins/ml/eval/encoder_features.h"
#include "plugins/ml/image/image_writer.h"
#include "plugins/ml/torch/cpu_runtime.h"
#include "radflow/plugin.hpp"

namespace {

namespace fs = std::filesystem;
namespace ml = radflow::ml;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// DICOM files often have no extension: recognise them by the "DICM" preamble marker.
bool has_dicom_marker(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.seekg(128);
  return in.read(magic, 4) && std::string(magic, 4) == "DICM";
}

bool is_image_file(const fs::path& path) {
  const std::string ext = lower(path.extension().string());
  if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".dcm" || ext == ".dicom") return true;
  return ext.empty() && has_dicom_marker(path);
}

// Image files under `dir` (recursively, hidden entries skipped), sorted by their path
// relative to `dir` so the row order does not depend on the file system.
std::vector<std::string> list_images(const fs::path& dir) {
  std::vector<std::string> relative;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && is_image_file(it->path())) {
      relative.push_back(fs::relative(it->path(), dir).generic_string());
    }
  }
  std::sort(relative.begin(), relative.end());
  std::vector<std::string> paths;
  for (const auto& r : relative) paths.push_back((dir / r).lexically_normal().string());
  return paths;
}

int run(radflow::sdk::Context& ctx) {
  const int cpus = ml::configure_cpu_runtime();
  const std::string pool = ctx.param<std::string>("pool", "cls");
  if (pool != "cls" && pool != "cls+mean") {
    ctx.fail("pool must be \"cls\" or \"cls+mean\", got \"" + pool + "\"");
    return RF_RUN_FAILED;
  }
  auto encoder = ml::eval::load_encoder(ctx.input("encoder"));
  if (!encoder.ok()) {
    ctx.fail(encoder.status().message());
    return RF_RUN_FAILED;
  }
  const fs::path images = fs::absolute(ctx.input("images"));
  std::vector<std::string> paths;
  if (fs::is_directory(images)) {
    paths = list_images(images);
  } else if (fs::is_regular_file(images)) {
    auto manifest = ml::data::read_manifest(images.string(), {ml::data::SplitRule::kOptional});
    if (!manifest.ok()) {
      ctx.fail(manifest.status().to_string());
      return RF_RUN_FAILED;
    }
    for (const auto& record : manifest->records) paths.push_back(manifest->resolve(record.path));
  } else {
    ctx.fail("images not found: " + images.string() + " (expected a folder of images or a manifest file)");
    return RF_RUN_FAILED;
  }
  if (paths.empty()) {
    ctx.fail("no DICOM/PNG/JPEG images in " + images.string());
    return RF_RUN_FAILED;
  }

  ml::eval::EncoderFeatureOptions options;
  options.image_size = ctx.param<int64_t>("image_size", encoder->model->config().image_size);
  options.batch_size = ctx.param<size_t>("batch_size", 16);
  options.threads = static_cast<size_t>(cpus);
  options.device = ctx.device();
  options.on_batch = [&](size_t done, size_t total) {
    ctx.progress(static_cast<double>(done) / total,
                 "embedded " + std::to_string(done) + "/" + std::to_string(total) + " images");
    return !ctx.cancelled();
  };
  ctx.log_info("embedding " + std::to_string(paths.size()) + " images at " +
               std::to_string(options.image_size) + " px (" + pool + ")");
  auto features = ml::eval::compute_encoder_features(encoder->model, paths, options);
  if (!features.ok()) {
    if (features.status().code() == "cancelled") return RF_RUN_CANCELLED;
    ctx.fail(features.status().message());
    return RF_RUN_FAILED;
  }
  const torch::Tensor rows =
      (pool == "cls" ? features->cls : torch::cat({features->cls, features->mean_patch}, 1)).contiguous();
  const std::vector<float> values(rows.data_ptr<float>(), rows.data_ptr<float>() + rows.numel());
  const std::string npy = ctx.output_path("embeddings.npy");
  radflow::Status written = ml::write_npy(
      npy, values, {static_cast<size_t>(rows.size(0)), static_cast<size_t>(rows.size(1))});
  if (!written.ok()) {
    ctx.fail(written.to_string());
    return RF_RUN_FAILED;
  }
  const std::string list = ctx.output_path("embeddings.paths.txt");
  std::ofstream out(list);
  for (const auto& p : paths) out << p << "\n";
  out.close();
  ctx.register_output("embeddings", npy);
  ctx.register_output("paths", list);
  ctx.log_info("wrote " + std::to_string(rows.size(0)) + " x " + std::to_string(rows.size(1)) + " embeddings");
  return RF_RUN_OK;
}

}  // namespace

constexpr const char* kParamsSchema = R"json({"type":"object","properties":{
    "pool":{"type":"string","enum":["cls","cls+mean"],"default":"cls",
            "description":"cls: N x D CLS tokens; cls+mean: N x 2D, the mean patch token appended"},
    "image_size":{"type":"integer","minimum":1,
                  "description":"input side in pixels, a multiple of the patch size (default: the encoder config's)"},
    "batch_size":{"type":"integer","minimum":1,"maximum":4096,"default":16}},
  "additionalProperties":false})json";

constexpr const char* kInputs = R"json([
  {"name":"encoder","description":"a folder with model.safetensors (+ config.json), or a .safetensors file"},
  {"name":"images","description":"a folder of DICOM/PNG/JPEG files (sorted by relative path) or a manifest file (its order)"}])json";

constexpr const char* kOutputs = R"json([
  {"name":"embeddings","description":"embeddings.npy: float32, N x D (or N x 2D)"},
  {"name":"paths","description":"embeddings.paths.txt: line i is the image of row i"}])json";

RADFLOW_PLUGIN("embed", "0.1.0",
               "Embeds images with a frozen encoder: a float32 .npy of CLS (or CLS + mean patch) "
               "tokens and the row -> path list.",
               kParamsSchema, kInputs, kOutputs, run)
