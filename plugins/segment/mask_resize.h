// resize_nearest(): nearest-neighbour resize of a row-major 8-bit mask, sampling each
// output pixel at its centre, so label values are never blended. Used for the ground
// truth (to the training resolution) and for overlays (to the image size).
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace radflow::segment {

// Precondition: mask.size() == rows * cols, all sizes > 0.
std::vector<uint8_t> resize_nearest(const std::vector<uint8_t>& mask, int64_t rows, int64_t cols,
                                    int64_t out_rows, int64_t out_cols);

}  // namespace radflow::segment
