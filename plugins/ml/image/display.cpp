#include "plugins/ml/image/display.h"

#include <algorithm>
#include <cmath>

namespace radflow::ml {
namespace {

// The loops of DisplayMap::apply: apply_window's arithmetic and the range's clamp in
// double, branch-free so that they vectorise, with the division by the width or span
// done as a multiplication by its reciprocal (a divide costs ~10 times more and was
// most of rad_dino_input's time). The double results differ by at most an ulp from
// the division's, below float resolution: the float values are the same but for
// quotients within 1e-16 of a float rounding boundary.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RF_DISPLAY_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define RF_DISPLAY_KERNEL
#endif

RF_DISPLAY_KERNEL
void window_samples(const float* in, size_t n, double center, double width, bool invert, float* out) {
  const double lower = center - 0.5 - (width - 1.0) / 2.0;
  const double upper = center - 0.5 + (width - 1.0) / 2.0;
  // Width 1: the linear part is never kept, both tests below catch every value.
  const double middle = center - 0.5, inverse_slope = width > 1.0 ? 1.0 / (width - 1.0) : 0.0;
  const float flip = invert ? 1.0f : 0.0f, sign = invert ? -1.0f : 1.0f;
  for (size_t i = 0; i < n; ++i) {
    const double v = in[i];
    double r = (v - middle) * inverse_slope + 0.5;
    r = v <= lower ? 0.0 : r;
    r = v > upper ? 1.0 : r;
    out[i] = flip + sign * static_cast<float>(r);  // exact: 1 - x or x
  }
}

RF_DISPLAY_KERNEL
void range_samples(const float* in, size_t n, double low, double span, bool invert, float* out) {
  const double inverse_span = 1.0 / span;
  const float flip = invert ? 1.0f : 0.0f, sign = invert ? -1.0f : 1.0f;
  for (size_t i = 0; i < n; ++i) {
    double r = (in[i] - low) * inverse_span;
    r = r < 0.0 ? 0.0 : r;
    r = r > 1.0 ? 1.0 : r;
    out[i] = flip + sign * static_cast<float>(r);
  }
}

}  // namespace

double apply_window(double value, double center, double width) {
  RF_CHECK(width >= 1.0, "apply_window: width must be >= 1");
  // PS3.3 C.11.2.1.2.1: the -0.5 and (width - 1) place the window on pixel centres.
  const double lower = center - 0.5 - (width - 1.0) / 2.0;
  const double upper = center - 0.5 + (width - 1.0) / 2.0;
  if (value <= lower) return 0.0;
  if (value > upper) return 1.0;
  return (value - (center - 0.5)) / (width - 1.0) + 0.5;
}

DisplayMap::DisplayMap(const Image& image, int frame, const DisplayOptions& options) {
  RF_CHECK(frame >= 0 && frame < image.frames, "DisplayMap: frame out of range");
  std::optional<double> center = options.window_center, width = options.window_width;
  if (!center || !width) {
    center = image.window_center;
    width = image.window_width;
  }
  DisplayRange range = options.range;
  if (range == DisplayRange::kWindow && (!center || !width || *width < 1.0)) {
    // PNG and JPEG hold display values already: x / (2^bits - 1), as microsoft/rad-dino's
    // processor and DINOv2's transforms read 8-bit images (x / 255). Stretching each to
    // its own min-max would hand the model a per-image contrast no reference saw.
    range = image.transfer_syntax_uid.empty() ? DisplayRange::kBitDepth : DisplayRange::kMinMax;
  }
  invert_ = options.invert_monochrome1 && image.is_monochrome1();
  if (range == DisplayRange::kWindow) {
    window_ = true;
    center_ = *center;
    width_ = *width;
    return;
  }
  double low = 0, high = 0;
  if (range == DisplayRange::kMinMax) {
    const size_t n = image.frame_size();
    const float* begin = image.pixels.data() + static_cast<size_t>(frame) * n;
    if (n > 0) {
      float mn = begin[0], mx = begin[0];
      for (size_t i = 0; i < n; ++i) {  // written out so that it vectorises
        mn = begin[i] < mn ? begin[i] : mn;
        mx = begin[i] > mx ? begin[i] : mx;
      }
      low = mn;
      high = mx;
    }
  } else {
    const double levels = std::ldexp(1.0, image.bits_stored);
    low = image.pixel_signed ? -levels / 2 : 0.0;
    high = low + levels - 1;
    low = low * image.rescale_slope + image.rescale_intercept;
    high = high * image.rescale_slope + image.rescale_intercept;
    if (low > high) std::swap(low, high);
  }
  low_ = low;
  span_ = high > low ? high - low : 1.0;
}

void DisplayMap::apply(const float* in, size_t n, float* out) const {
  if (window_) {
    window_samples(in, n, center_, width_, invert_, out);
  } else {
    range_samples(in, n, low_, span_, invert_, out);
  }
}

std::vector<float> display_frame(const Image& image, int frame, const DisplayOptions& options) {
  const DisplayMap map(image, frame, options);
  std::vector<float> values = image.frame_pixels(frame);
  map.apply(values.data(), values.size(), values.data());
  return values;
}

}  // namespace radflow::ml
