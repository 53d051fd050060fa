// MultiCropAugmentation: DINOv2's DataAugmentationDINO (dinov2/data/augmentations.py;
// research/raddino-method.md §2.6 and §3) for single-channel images: two global and
// n local random-resized crops, optional horizontal flip, brightness/contrast jitter
// (the grayscale part of ColorJitter), Gaussian blur with an explicit probability per
// crop kind, solarize on the second global crop, then normalisation. Pure LibTorch ops;
// every random choice comes from the caller's SslRng, so a seed fixes the crops.
//
// Blur probabilities are plain "apply with probability p". DINOv2 intended 1.0 / 0.1 /
// 0.5 (global 1 / global 2 / local) and those are the defaults; its released models were
// trained with the inverted wrapper, i.e. effectively 0.0 / 0.9 / 0.5 — set them in the
// config to reproduce that.
//
// Immutable after construction; operator() may run on several threads, each with its
// own rng.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "plugins/ml/ssl/ssl_rng.h"

namespace radflow::ml::ssl {

struct MultiCropOptions {
  int64_t global_crop_size = 224;
  int64_t local_crop_size = 98;  // 96 in DINOv2's config; 98 is a multiple of patch 14
  int64_t n_local_crops = 8;
  double global_scale_min = 0.32, global_scale_max = 1.0;
  double local_scale_min = 0.05, local_scale_max = 0.32;
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
  bool antialias = true;           // bicubic resize with antialias (as PIL when shrinking)
  double flip_probability = 0.5;   // horizontal; 0 keeps laterality for CXR
  double jitter_probability = 0.8;
  double brightness = 0.4;         // factor ~ U(max(0, 1 - b), 1 + b)
  double contrast = 0.4;
  double blur_probability_global1 = 1.0;
  double blur_probability_global2 = 0.1;
  double blur_probability_local = 0.5;
  int64_t blur_kernel_size = 9;
  double blur_sigma_min = 0.1, blur_sigma_max = 2.0;
  double solarize_probability_global2 = 0.2;
  double solarize_threshold = 128.0 / 255.0;
  double mean = 0.5307, std = 0.2583;  // microsoft/rad-dino preprocessor statistics
  int64_t out_channels = 1;        // the grayscale result is repeated to this many channels
};

struct MultiCrops {
  torch::Tensor global_crops;  // [2, C, G, G], normalised
  torch::Tensor local_crops;   // [n_local, C, L, L], normalised (empty when n_local == 0)
};

// Crop rectangle in pixels: rows [top, top + height), cols [left, left + width).
struct CropBox {
  int64_t top = 0, left = 0, height = 0, width = 0;
};

class MultiCropAugmentation {
 public:
  // Preconditions (checked): positive crop sizes, ordered ranges, odd blur kernel.
  explicit MultiCropAugmentation(const MultiCropOptions& options);

  // image: [H, W] or [1, H, W] float with values in [0, 1].
  MultiCrops operator()(const torch::Tensor& image, SslRng& rng) const;

  const MultiCropOptions& options() const { return options_; }

 private:
  torch::Tensor crop(const torch::Tensor& image, int64_t size, double scale_min, double scale_max,
                     double blur_probability, double solarize_probability, SslRng& rng) const;

  MultiCropOptions options_;
};

// Stacks per-image crops crop-major, as DINOv2's collate: global [2B, C, G, G] = all
// images' first global crop, then all second ones; local [n_local B, C, L, L] likewise.
MultiCrops stack_crops(const std::vector<MultiCrops>& per_image);

// The building blocks, on [1, H, W] float images in [0, 1].
// torchvision RandomResizedCrop.get_params: 10 tries of area ~ U(scale) * H * W and
// log-uniform aspect, else the central crop clamped to the ratio range.
CropBox sample_crop_box(int64_t height, int64_t width, double scale_min, double scale_max,
                        double ratio_min, double ratio_max, SslRng& rng);
torch::Tensor resized_crop(const torch::Tensor& image, const CropBox& box, int64_t size, bool antialias);
torch::Tensor adjust_brightness(const torch::Tensor& image, double factor);  // (f x).clamp(0, 1)
// (f x + (1 - f) mean(x)).clamp(0, 1)
torch::Tensor adjust_contrast(const torch::Tensor& image, double factor);
// Separable Gaussian, reflect padding (torchvision's gaussian_blur).
torch::Tensor gaussian_blur(const torch::Tensor& image, int64_t kernel_size, double sigma);
torch::Tensor solarize(const torch::Tensor& image, double threshold);  // x >= t -> 1 - x

}  // namespace radflow::ml::ssl
