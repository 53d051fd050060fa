#include "plugins/segment/mask_resize.h"

#include <algorithm>

namespace radflow::segment {

std::vector<uint8_t> resize_nearest(const std::vector<uint8_t>& mask, int64_t rows, int64_t cols,
                                    int64_t out_rows, int64_t out_cols) {
  std::vector<uint8_t> out(static_cast<size_t>(out_rows * out_cols));
  for (int64_t y = 0; y < out_rows; ++y) {
    // The source pixel whose area holds the output pixel's centre.
    const int64_t sy = std::min(rows - 1, (2 * y + 1) * rows / (2 * out_rows));
    for (int64_t x = 0; x < out_cols; ++x) {
      const int64_t sx = std::min(cols - 1, (2 * x + 1) * cols / (2 * out_cols));
      out[y * out_cols + x] = mask[sy * cols + sx];
    }
  }
  return out;
}

}  // namespace radflow::segment
