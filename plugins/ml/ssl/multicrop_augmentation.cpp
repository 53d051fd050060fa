#include "plugins/ml/ssl/multicrop_augmentation.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"

namespace radflow::ml::ssl {
namespace F = torch::nn::functional;

CropBox sample_crop_box(int64_t height, int64_t width, double scale_min, double scale_max, double ratio_min,
                        double ratio_max, SslRng& rng) {
  const double area = static_cast<double>(height * width);
  const double log_lo = std::log(ratio_min), log_hi = std::log(ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(scale_min, scale_max);
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const auto w = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area * aspect)));
    const auto h = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area / aspect)));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return CropBox{rng.randint(0, height - h), rng.randint(0, width - w), h, w};
    }
  }
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (in_ratio < ratio_min) {
    h = static_cast<int64_t>(std::nearbyint(static_cast<double>(w) / ratio_min));
  } else if (in_ratio > ratio_max) {
    w = static_cast<int64_t>(std::nearbyint(static_cast<double>(h) * ratio_max));
  }
  return CropBox{(height - h) / 2, (width - w) / 2, h, w};
}

torch::Tensor resized_crop(const torch::Tensor& image, const CropBox& box, int64_t size, bool antialias) {
  const torch::Tensor patch = image.narrow(-2, box.top, box.height).narrow(-1, box.left, box.width);
  const torch::Tensor resized = F::interpolate(patch.unsqueeze(0),
                                               F::InterpolateFuncOptions()
                                                   .size(std::vector<int64_t>{size, size})
                                                   .mode(torch::kBicubic)
                                                   .align_corners(false)
                                                   .antialias(antialias));
  // Bicubic overshoots; PIL's uint8 output is clamped the same way.
  return resized.squeeze(0).clamp(0.0, 1.0);
}

torch::Tensor adjust_brightness(const torch::Tensor& image, double factor) {
  return (image * factor).clamp(0.0, 1.0);
}

torch::Tensor adjust_contrast(const torch::Tensor& image, double factor) {
  const torch::Tensor mean = image.mean();
  return (image * factor + mean * (1.0 - factor)).clamp(0.0, 1.0);
}

torch::Tensor gaussian_blur(const torch::Tensor& image, int64_t kernel_size, double sigma) {
  RF_CHECK(kernel_size % 2 == 1 && sigma > 0, "gaussian_blur: odd kernel and positive sigma");
  const double half = static_cast<double>(kernel_size - 1) / 2.0;
  torch::Tensor x = torch::linspace(-half, half, kernel_size, image.options());
  torch::Tensor kernel = torch::exp(-0.5 * (x / sigma).pow(2));
  kernel = kernel / kernel.sum();
  const auto pad = kernel_size / 2;
  torch::Tensor img = image.unsqueeze(0);  // [1, 1, H, W]
  img = F::pad(img, F::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReflect));
  img = F::conv2d(img, kernel.view({1, 1, 1, kernel_size}));
  img = F::conv2d(img, kernel.view({1, 1, kernel_size, 1}));
  return img.squeeze(0);
}

torch::Tensor solarize(const torch::Tensor& image, double threshold) {
  return torch::where(image >= threshold, 1.0 - image, image);
}

MultiCropAugmentation::MultiCropAugmentation(const MultiCropOptions& options) : options_(options) {
  const auto& o = options_;
  RF_CHECK(o.global_crop_size > 0 && o.local_crop_size > 0 && o.n_local_crops >= 0, "MultiCrop: bad sizes");
  RF_CHECK(0 < o.global_scale_min && o.global_scale_min <= o.global_scale_max && 0 < o.local_scale_min &&
               o.local_scale_min <= o.local_scale_max && 0 < o.ratio_min && o.ratio_min <= o.ratio_max,
           "MultiCrop: bad scale or ratio range");
  RF_CHECK(o.blur_kernel_size % 2 == 1 && 0 < o.blur_sigma_min && o.blur_sigma_min <= o.blur_sigma_max,
           "MultiCrop: bad blur settings");
  RF_CHECK(o.std > 0 && o.out_channels >= 1, "MultiCrop: bad normalisation");
}

torch::Tensor MultiCropAugmentation::crop(const torch::Tensor& image, int64_t size, double scale_min,
                                          double scale_max, double blur_probability,
                                          double solarize_probability, SslRng& rng) const {
  const auto& o = options_;
  const CropBox box =
      sample_crop_box(image.size(-2), image.size(-1), scale_min, scale_max, o.ratio_min, o.ratio_max, rng);
  torch::Tensor x = resized_crop(image, box, size, o.antialias);
  if (rng.bernoulli(o.flip_probability)) x = x.flip({-1});
  if (rng.bernoulli(o.jitter_probability)) {
    // ColorJitter applies its factors in a random order.
    const double b = rng.uniform(std::max(0.0, 1.0 - o.brightness), 1.0 + o.brightness);
    const double c = rng.uniform(std::max(0.0, 1.0 - o.contrast), 1.0 + o.contrast);
    if (rng.bernoulli(0.5)) {
      x = adjust_contrast(adjust_brightness(x, b), c);
    } else {
      x = adjust_brightness(adjust_contrast(x, c), b);
    }
  }
  if (rng.bernoulli(blur_probability)) {
    x = gaussian_blur(x, o.blur_kernel_size, rng.uniform(o.blur_sigma_min, o.blur_sigma_max));
  }
  if (solarize_probability > 0 && rng.bernoulli(solarize_probability)) x = solarize(x, o.solarize_threshold);
  x = (x - o.mean) / o.std;
  return o.out_channels == 1 ? x : x.repeat({o.out_channels, 1, 1});
}

MultiCrops MultiCropAugmentation::operator()(const torch::Tensor& image, SslRng& rng) const {
  torch::NoGradGuard no_grad;
  RF_CHECK(image.dim() == 2 || (image.dim() == 3 && image.size(0) == 1),
           "MultiCropAugmentation: image must be [H, W] or [1, H, W]");
  const torch::Tensor img = (image.dim() == 2 ? image.unsqueeze(0) : image).to(torch::kFloat);
  const auto& o = options_;
  MultiCrops out;
  out.global_crops = torch::stack(
      {crop(img, o.global_crop_size, o.global_scale_min, o.global_scale_max, o.blur_probability_global1, 0.0, rng),
       crop(img, o.global_crop_size, o.global_scale_min, o.global_scale_max, o.blur_probability_global2,
            o.solarize_probability_global2, rng)});
  std::vector<torch::Tensor> locals;
  for (int64_t i = 0; i < o.n_local_crops; ++i) {
    locals.push_back(
        crop(img, o.local_crop_size, o.local_scale_min, o.local_scale_max, o.blur_probability_local, 0.0, rng));
  }
  out.local_crops = locals.empty() ? torch::empty({0, o.out_channels, o.local_crop_size, o.local_crop_size})
                                   : torch::stack(locals);
  return out;
}

MultiCrops stack_crops(const std::vector<MultiCrops>& per_image) {
  RF_CHECK(!per_image.empty(), "stack_crops: no images");
  auto crop_major = [&](bool global) {
    const int64_t n = (global ? per_image[0].global_crops : per_image[0].local_crops).size(0);
    std::vector<torch::Tensor> rows;
    for (int64_t c = 0; c < n; ++c) {
      for (const auto& m : per_image) rows.push_back((global ? m.global_crops : m.local_crops)[c]);
    }
    if (rows.empty()) return torch::empty({0});
    return torch::stack(rows);
  };
  return MultiCrops{crop_major(true), crop_major(false)};
}

}  // namespace radflow::ml::ssl
