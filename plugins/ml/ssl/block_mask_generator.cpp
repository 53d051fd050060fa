#include "plugins/ml/ssl/block_mask_generator.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"

namespace radflow::ml::ssl {

int64_t dinov2_max_block_patches(int64_t image_size, int64_t patch_size) {
  const double half_side = std::floor(0.5 * static_cast<double>(image_size) / patch_size);
  return static_cast<int64_t>(std::floor(half_side * static_cast<double>(image_size) / patch_size));
}

BlockMaskGenerator::BlockMaskGenerator(const BlockMaskOptions& options) : options_(options) {
  RF_CHECK(options_.grid_h > 0 && options_.grid_w > 0, "BlockMaskGenerator: empty grid");
  RF_CHECK(options_.min_aspect > 0, "BlockMaskGenerator: min_aspect must be positive");
  if (options_.max_num_patches < 0) options_.max_num_patches = num_patches() / 2;
  if (options_.max_aspect <= 0) options_.max_aspect = 1.0 / options_.min_aspect;
  log_aspect_min_ = std::log(options_.min_aspect);
  log_aspect_max_ = std::log(options_.max_aspect);
}

int64_t BlockMaskGenerator::mask_block(std::vector<uint8_t>& mask, int64_t max_mask_patches,
                                       SslRng& rng) const {
  const int64_t gh = options_.grid_h, gw = options_.grid_w;
  int64_t delta = 0;
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area =
        rng.uniform(static_cast<double>(options_.min_num_patches), static_cast<double>(max_mask_patches));
    const double aspect = std::exp(rng.uniform(log_aspect_min_, log_aspect_max_));
    // Python's round() is round-half-to-even, as nearbyint in the default rounding mode.
    const auto h = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area * aspect)));
    const auto w = static_cast<int64_t>(std::nearbyint(std::sqrt(target_area / aspect)));
    if (w < gw && h < gh) {
      const int64_t top = rng.randint(0, gh - h);
      const int64_t left = rng.randint(0, gw - w);
      int64_t already = 0;
      for (int64_t i = top; i < top + h; ++i)
        for (int64_t j = left; j < left + w; ++j) already += mask[static_cast<size_t>(i * gw + j)];
      const int64_t added = h * w - already;
      if (added > 0 && added <= max_mask_patches) {
        for (int64_t i = top; i < top + h; ++i) {
          for (int64_t j = left; j < left + w; ++j) {
            uint8_t& cell = mask[static_cast<size_t>(i * gw + j)];
            if (cell == 0) {
              cell = 1;
              ++delta;
            }
          }
        }
      }
      if (delta > 0) break;
    }
  }
  return delta;
}

std::vector<uint8_t> BlockMaskGenerator::generate(int64_t num_masking_patches, SslRng& rng) const {
  std::vector<uint8_t> mask(static_cast<size_t>(num_patches()), 0);
  int64_t count = 0;
  while (count < num_masking_patches) {
    const int64_t budget = std::min(num_masking_patches - count, options_.max_num_patches);
    const int64_t delta = mask_block(mask, budget, rng);
    if (delta == 0) break;
    count += delta;
  }
  return mask;
}

}  // namespace radflow::ml::ssl
