// write_overlay(): one PNG that shows a test image with its segmentation: each
// structure's predicted mask as a translucent tint in the structure's colour and its
// ground truth as a solid contour in the same colour. The image keeps its aspect and is
// shrunk (nearest) so that its long side is at most max_side pixels; masks are scaled
// nearest-neighbour to it. Pure function of its inputs; thread-safe for distinct paths.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace radflow::segment {

struct OverlayInput {
  std::vector<float> gray;  // rows * cols display values in [0, 1]
  int rows = 0, cols = 0;
  // Per structure, mask_h * mask_w bytes, non-zero = inside.
  std::vector<std::vector<uint8_t>> pred, truth;
  int64_t mask_h = 0, mask_w = 0;
};

// The colour of structure `index` (a fixed palette, cycled), RGB in [0, 1].
std::array<float, 3> structure_colour(size_t index);

Status write_overlay(const std::string& path, const OverlayInput& input, int max_side = 512);

}  // namespace radflow::segment
