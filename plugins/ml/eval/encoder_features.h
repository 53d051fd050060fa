// Frozen-encoder features: the CLS token, the mean patch token and optionally the
// patch tokens of chosen blocks, for every image of a list, computed in eval mode
// under NoGradGuard batch by batch while a PrefetchLoader decodes and preprocesses
// the next images on worker threads (RAD-DINO's preprocessing, rad_dino_preprocess.h).
// The `features` and `embed` plugins are thin wrappers around this.
//
// Functions are stateless. compute_encoder_features uses the model from the calling
// thread only (the loader's threads only decode images); the model must not be
// trained or reloaded meanwhile.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/status.h"
#include "plugins/ml/data/prefetch_loader.h"
#include "plugins/ml/torch/vit.h"

namespace radflow::ml::eval {

// An encoder checkpoint as the features plugins take it.
struct Encoder {
  std::string file;    // the model.safetensors actually loaded (absolute)
  std::string digest;  // sha256 of that file
  VisionTransformer model{nullptr};  // in eval mode
};

// `path` is a folder holding model.safetensors (+ config.json; e.g. pretrain's
// `encoder` output) or a .safetensors file; layouts as checkpoint.h reads them.
// Errors: "encoder_not_found", and checkpoint.h's codes (message names the file).
Result<Encoder> load_encoder(const std::string& path);

// Decodes one image file (DICOM/PNG/JPEG), windows it to display values and
// preprocesses it as microsoft/rad-dino's processor at image_size (shortest edge,
// centre crop, normalisation). Returns [in_chans, image_size, image_size]; for
// in_chans == 1 the three normalised planes are averaged. Errors: "image_error"
// naming the file.
Result<data::Sample> preprocess_image_file(const std::string& path, int64_t image_size,
                                           int64_t in_chans);

struct EncoderFeatureOptions {
  int64_t image_size = 0;  // 0: the encoder config's image_size
  // Blocks whose (normed) patch tokens to return; negative counts from the end.
  std::vector<int64_t> patch_layers;
  size_t batch_size = 16;
  size_t threads = 0;           // decoding threads; 0: hardware threads
  std::string device = "cpu";   // "cpu", "cuda", "cuda:1", ...
  // Called after each batch with the images done and the total; returning false
  // stops the computation with code "cancelled".
  std::function<bool(size_t done, size_t total)> on_batch;
};

struct EncoderFeatures {
  torch::Tensor cls;         // [N, D] float32, CPU
  torch::Tensor mean_patch;  // [N, D]: mean over the patch tokens after the final norm
  std::map<int64_t, torch::Tensor> patch_tokens;  // resolved block -> [N, P, D]
  std::map<int64_t, torch::Tensor> layer_cls;     // same blocks -> [N, D], CLS after the final norm
  int64_t grid_h = 0, grid_w = 0;
  int64_t image_size = 0;
};

// Block indices resolved against `depth` (negatives from the end), in the order
// given, duplicates removed. Error "invalid_param" names an out-of-range index.
Result<std::vector<int64_t>> resolve_patch_layers(const std::vector<int64_t>& layers, int64_t depth);

// Features of `count` samples from `producer` (each [in_chans, S, S]), rows in index order.
Result<EncoderFeatures> compute_encoder_features(VisionTransformer& model, size_t count,
                                                 const data::SampleProducer& producer,
                                                 const EncoderFeatureOptions& options);
// The same for image files, through preprocess_image_file. Errors name the file.
Result<EncoderFeatures> compute_encoder_features(VisionTransformer& model,
                                                 const std::vector<std::string>& image_paths,
                                                 const EncoderFeatureOptions& options);

}  // namespace radflow::ml::eval
