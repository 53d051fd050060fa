#include "plugins/segment/segmentation_head.h"

#include <algorithm>

namespace radflow::segment {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

SegmentationHeadImpl::SegmentationHeadImpl(const HeadOptions& options) : options_(options) {
  if (options_.kind == HeadKind::kLinear) {
    const int64_t channels = options_.n_layers * options_.dim;
    norm_ = register_module("norm", nn::BatchNorm2d(channels));
    classifier_ = register_module("classifier", nn::Conv2d(nn::Conv2dOptions(channels, options_.n_classes, 1)));
    return;
  }
  const int64_t c = options_.fpn_channels;
  for (int64_t i = 0; i < options_.n_layers; ++i) {
    lateral_norms_.push_back(
        register_module("lateral_norm" + std::to_string(i), nn::BatchNorm2d(options_.dim)));
    laterals_.push_back(register_module("lateral" + std::to_string(i),
                                        nn::Conv2d(nn::Conv2dOptions(options_.dim, c, 1))));
  }
  smooth_ = register_module("smooth", nn::Conv2d(nn::Conv2dOptions(c, c, 3).padding(1)));
  classifier_ = register_module("classifier", nn::Conv2d(nn::Conv2dOptions(c, options_.n_classes, 1)));
}

torch::Tensor SegmentationHeadImpl::upsample(const torch::Tensor& x, int64_t h, int64_t w) const {
  if (x.size(2) == h && x.size(3) == w) return x;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{h, w})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

torch::Tensor SegmentationHeadImpl::forward(const std::vector<torch::Tensor>& layers) {
  if (options_.kind == HeadKind::kLinear) {
    auto logits = classifier_(norm_(torch::cat(layers, 1)));
    return upsample(logits, options_.mask_h, options_.mask_w);
  }
  // Top-down, deepest block first: level 0 at the grid, the others at 2x, capped at the mask.
  torch::Tensor merged;
  const int64_t n = static_cast<int64_t>(layers.size());
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = n - 1 - k;
    const int64_t scale = int64_t{1} << std::min<int64_t>(k, 1);
    const int64_t h = std::min(options_.grid_h * scale, options_.mask_h);
    const int64_t w = std::min(options_.grid_w * scale, options_.mask_w);
    auto lateral = upsample(laterals_[i](lateral_norms_[i](layers[i])), h, w);
    merged = merged.defined() ? lateral + upsample(merged, h, w) : lateral;
  }
  auto logits = classifier_(torch::relu(smooth_(merged)));
  return upsample(logits, options_.mask_h, options_.mask_w);
}

}  // namespace radflow::segment
