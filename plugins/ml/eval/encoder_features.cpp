#include "plugins/ml/eval/encoder_features.h"

#include <algorithm>
#include <filesystem>

#include "common/sha256.h"
#include "plugins/ml/image/display.h"
#include "plugins/ml/image/image_reader.h"
#include "plugins/ml/image/rad_dino_preprocess.h"
#include "plugins/ml/torch/checkpoint.h"

namespace radflow::ml::eval {
namespace {

namespace fs = std::filesystem;

// The model runs in one thread; the loader's samples are copied into one batch tensor.
torch::Tensor stack_samples(const std::vector<data::Sample>& samples) {
  std::vector<torch::Tensor> parts;
  parts.reserve(samples.size());
  for (const auto& s : samples) {
    parts.push_back(torch::from_blob(const_cast<float*>(s.values.data()), s.shape, torch::kFloat32));
  }
  return torch::stack(parts);
}

}  // namespace

Result<Encoder> load_encoder(const std::string& path) {
  std::error_code ec;
  fs::path file = fs::absolute(path, ec);
  if (fs::is_directory(file, ec)) file /= "model.safetensors";
  if (!fs::is_regular_file(file, ec)) {
    return Status::error("encoder_not_found",
                         "encoder checkpoint not found: " + file.string() +
                             " (expected a .safetensors file or a folder holding model.safetensors)",
                         file.string());
  }
  Encoder encoder;
  encoder.file = file.lexically_normal().string();
  try {
    auto model = load_vit(encoder.file);
    if (!model.ok()) {
      const Status& s = model.status();
      return Status::error(s.code(), "cannot load encoder " + encoder.file + ": " + s.message(),
                           encoder.file);
    }
    encoder.model = *model;
  } catch (const std::exception& e) {  // torch throws on what the checks did not foresee
    return Status::error("checkpoint_mismatch", "cannot load encoder " + encoder.file + ": " + e.what(),
                         encoder.file);
  }
  RF_ASSIGN_OR_RETURN(encoder.digest, sha256_file(encoder.file));
  return encoder;
}

Result<data::Sample> preprocess_image_file(const std::string& path, int64_t image_size,
                                           int64_t in_chans) {
  RF_ASSIGN_OR_RETURN(Image image, read_image(path));
  const int samples = image.samples_per_pixel;
  if (samples != 1 && samples != 3) {
    return image_error(path, std::to_string(samples) + " samples per pixel (need 1 or 3)");
  }
  RadDinoPreprocessOptions options;
  options.shortest_edge = static_cast<int>(image_size);
  options.crop_size = static_cast<int>(image_size);
  std::vector<float> chw = rad_dino_input(image, options);
  const size_t plane = static_cast<size_t>(image_size) * static_cast<size_t>(image_size);
  if (in_chans == 1) {
    std::vector<float> gray(plane);
    for (size_t i = 0; i < plane; ++i) gray[i] = (chw[i] + chw[plane + i] + chw[2 * plane + i]) / 3.0f;
    chw = std::move(gray);
  } else if (in_chans != 3) {
    return image_error(path, "the encoder takes " + std::to_string(in_chans) +
                                 " input channels; only 1 or 3 are supported");
  }
  return data::Sample{std::move(chw), {in_chans, image_size, image_size}};
}

Result<std::vector<int64_t>> resolve_patch_layers(const std::vector<int64_t>& layers, int64_t depth) {
  std::vector<int64_t> resolved;
  for (int64_t layer : layers) {
    const int64_t k = layer < 0 ? depth + layer : layer;
    if (k < 0 || k >= depth) {
      return Status::error("invalid_param",
                           "patch layer " + std::to_string(layer) + " is out of range for an encoder with " +
                               std::to_string(depth) + " blocks (use 0.." + std::to_string(depth - 1) +
                               " or -" + std::to_string(depth) + "..-1)",
                           "patch_layers");
    }
    if (std::find(resolved.begin(), resolved.end(), k) == resolved.end()) resolved.push_back(k);
  }
  return resolved;
}

Result<EncoderFeatures> compute_encoder_features(VisionTransformer& model, size_t count,
                                                 const data::SampleProducer& producer,
                                                 const EncoderFeatureOptions& options) {
  const ViTConfig& config = model->config();
  RF_ASSIGN_OR_RETURN(std::vector<int64_t> layers, resolve_patch_layers(options.patch_layers, config.depth));
  if (count == 0) return Status::error("invalid_input", "no images to encode");
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(options.device);
  } catch (const std::exception&) {
    return Status::error("invalid_param", "unknown device \"" + options.device + "\"", "device");
  }
  model->to(device);
  model->eval();
  torch::NoGradGuard no_grad;

  data::PrefetchOptions loader_options;
  loader_options.batch_size = std::max<size_t>(1, options.batch_size);
  loader_options.threads = options.threads;
  data::PrefetchLoader loader(count, producer, loader_options);
  ViTForwardOptions forward;
  forward.intermediate_layers = layers;
  std::vector<torch::Tensor> cls, mean;
  std::map<int64_t, std::vector<torch::Tensor>> patches, layer_cls;
  EncoderFeatures out;
  size_t done = 0;
  while (!loader.done()) {
    RF_ASSIGN_OR_RETURN(data::Batch batch, loader.next());
    const torch::Tensor images = stack_samples(batch.samples).to(device);
    ViTOutput result;
    try {
      result = model->forward(images, {}, forward);
    } catch (const std::exception& e) {
      return Status::error("encoder_error", std::string("encoder forward failed: ") + e.what());
    }
    cls.push_back(result.cls.to(torch::kCPU));
    mean.push_back(result.patch_tokens.mean(1).to(torch::kCPU));
    for (const auto& layer : result.intermediates) {
      patches[layer.layer].push_back(layer.patch_tokens.to(torch::kCPU));
      layer_cls[layer.layer].push_back(layer.cls.to(torch::kCPU));
    }
    out.grid_h = result.grid_h;
    out.grid_w = result.grid_w;
    done += batch.samples.size();
    if (options.on_batch && !options.on_batch(done, count)) {
      return Status::error("cancelled", "cancelled after " + std::to_string(done) + " images");
    }
  }
  out.cls = torch::cat(cls).contiguous();
  out.mean_patch = torch::cat(mean).contiguous();
  for (auto& [layer, parts] : patches) out.patch_tokens[layer] = torch::cat(parts).contiguous();
  for (auto& [layer, parts] : layer_cls) out.layer_cls[layer] = torch::cat(parts).contiguous();
  out.image_size = options.image_size;
  return out;
}

Result<EncoderFeatures> compute_encoder_features(VisionTransformer& model,
                                                 const std::vector<std::string>& image_paths,
                                                 const EncoderFeatureOptions& options) {
  EncoderFeatureOptions resolved = options;
  if (resolved.image_size <= 0) resolved.image_size = model->config().image_size;
  const int64_t patch = model->config().patch_size;
  if (resolved.image_size % patch != 0) {
    return Status::error("invalid_param",
                         "image_size " + std::to_string(resolved.image_size) +
                             " is not a multiple of the encoder's patch size " + std::to_string(patch),
                         "image_size");
  }
  const int64_t size = resolved.image_size, channels = model->config().in_chans;
  return compute_encoder_features(
      model, image_paths.size(),
      [&image_paths, size, channels](size_t i) { return preprocess_image_file(image_paths[i], size, channels); },
      resolved);
}

}  // namespace radflow::ml::eval
