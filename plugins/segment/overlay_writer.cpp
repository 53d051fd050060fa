#include "plugins/segment/overlay_writer.h"

#include <algorithm>
#include <cmath>

#include "plugins/ml/image/image_writer.h"
#include "plugins/segment/mask_resize.h"

namespace radflow::segment {

std::array<float, 3> structure_colour(size_t index) {
  static constexpr std::array<std::array<float, 3>, 6> kPalette = {{{0.2f, 0.9f, 0.2f},
                                                                    {0.95f, 0.2f, 0.2f},
                                                                    {0.2f, 0.5f, 1.0f},
                                                                    {1.0f, 0.8f, 0.1f},
                                                                    {0.9f, 0.3f, 0.9f},
                                                                    {0.1f, 0.9f, 0.9f}}};
  return kPalette[index % kPalette.size()];
}

Status write_overlay(const std::string& path, const OverlayInput& input, int max_side) {
  const double shrink = std::min(1.0, static_cast<double>(max_side) / std::max(input.rows, input.cols));
  const int64_t rows = std::max<int64_t>(1, std::lround(input.rows * shrink));
  const int64_t cols = std::max<int64_t>(1, std::lround(input.cols * shrink));
  std::vector<float> rgb(static_cast<size_t>(rows * cols * 3));
  for (int64_t y = 0; y < rows; ++y) {
    const int64_t sy = std::min<int64_t>(input.rows - 1, (2 * y + 1) * input.rows / (2 * rows));
    for (int64_t x = 0; x < cols; ++x) {
      const int64_t sx = std::min<int64_t>(input.cols - 1, (2 * x + 1) * input.cols / (2 * cols));
      const float v = input.gray[sy * input.cols + sx];
      for (int c = 0; c < 3; ++c) rgb[(y * cols + x) * 3 + c] = v;
    }
  }
  for (size_t s = 0; s < input.pred.size(); ++s) {
    const auto colour = structure_colour(s);
    const auto pred = resize_nearest(input.pred[s], input.mask_h, input.mask_w, rows, cols);
    const auto truth = resize_nearest(input.truth[s], input.mask_h, input.mask_w, rows, cols);
    auto inside = [&](int64_t y, int64_t x) {
      return y >= 0 && x >= 0 && y < rows && x < cols && truth[y * cols + x] != 0;
    };
    for (int64_t y = 0; y < rows; ++y) {
      for (int64_t x = 0; x < cols; ++x) {
        float* px = &rgb[(y * cols + x) * 3];
        if (pred[y * cols + x]) {
          for (int c = 0; c < 3; ++c) px[c] = 0.6f * px[c] + 0.4f * colour[c];
        }
        const bool edge = inside(y, x) && (!inside(y - 1, x) || !inside(y + 1, x) ||
                                           !inside(y, x - 1) || !inside(y, x + 1));
        if (edge) {
          for (int c = 0; c < 3; ++c) px[c] = colour[c];
        }
      }
    }
  }
  return ml::write_png16(path, rgb, static_cast<int>(rows), static_cast<int>(cols), 3);
}

}  // namespace radflow::segment
