#include "plugins/ml/image/display.h"

#include <algorithm>
#include <cmath>

namespace radflow::ml {

double apply_window(double value, double center, double width) {
  RF_CHECK(width >= 1.0, "apply_window: width must be >= 1");
  // PS3.3 C.11.2.1.2.1: the -0.5 and (width - 1) place the window on pixel centres.
  const double lower = center - 0.5 - (width - 1.0) / 2.0;
  const double upper = center - 0.5 + (width - 1.0) / 2.0;
  if (value <= lower) return 0.0;
  if (value > upper) return 1.0;
  return (value - (center - 0.5)) / (width - 1.0) + 0.5;
}

std::vector<float> display_frame(const Image& image, int frame, const DisplayOptions& options) {
  std::vector<float> values = image.frame_pixels(frame);
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

  if (range == DisplayRange::kWindow) {
    for (float& v : values) v = static_cast<float>(apply_window(v, *center, *width));
  } else {
    double low = 0, high = 0;
    if (range == DisplayRange::kMinMax && !values.empty()) {
      const auto [mn, mx] = std::minmax_element(values.begin(), values.end());
      low = *mn;
      high = *mx;
    } else {
      const double levels = std::ldexp(1.0, image.bits_stored);
      low = image.pixel_signed ? -levels / 2 : 0.0;
      high = low + levels - 1;
      low = low * image.rescale_slope + image.rescale_intercept;
      high = high * image.rescale_slope + image.rescale_intercept;
      if (low > high) std::swap(low, high);
    }
    const double span = high > low ? high - low : 1.0;
    for (float& v : values) v = static_cast<float>(std::clamp((v - low) / span, 0.0, 1.0));
  }
  if (options.invert_monochrome1 && image.is_monochrome1()) {
    for (float& v : values) v = 1.0f - v;
  }
  return values;
}

}  // namespace radflow::ml
