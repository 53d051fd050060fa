// BlockMaskGenerator: iBOT block masking on a patch grid, as DINOv2's
// dinov2/data/masking.py MaskingGenerator (research/raddino-method.md §2.7): rectangles
// with a log-uniform aspect ratio and a uniform area between min_num_patches and the
// remaining budget, at most 10 placement attempts per round, stopping when a round adds
// nothing. The mask may fall short of the target; it never overshoots.
//
// Immutable after construction; generate() draws from the caller's SslRng, so one
// generator may be shared by threads that each own an rng. Torch-free.
#pragma once

#include <cstdint>
#include <vector>

#include "plugins/ml/ssl/ssl_rng.h"

namespace radflow::ml::ssl {

struct BlockMaskOptions {
  int64_t grid_h = 16;
  int64_t grid_w = 16;
  int64_t min_num_patches = 4;   // smallest block area drawn
  int64_t max_num_patches = -1;  // largest block area; < 0: half the grid (DINOv2 default)
  double min_aspect = 0.3;
  double max_aspect = 0.0;       // <= 0: 1 / min_aspect
};

// train.py passes max_num_patches = 0.5 * img_size // patch_size * img_size // patch_size,
// which Python evaluates left to right: floor(floor(0.5 * img / p) * img / p). That is
// half the grid for 224/14 (128) but 666 rather than 684 for 518/14.
int64_t dinov2_max_block_patches(int64_t image_size, int64_t patch_size);

class BlockMaskGenerator {
 public:
  // Preconditions (checked): positive grid, 0 < min_aspect.
  explicit BlockMaskGenerator(const BlockMaskOptions& options);

  // A row-major grid_h * grid_w mask (1 = masked) with at most `num_masking_patches`
  // set. 0 gives an empty mask without drawing random numbers.
  std::vector<uint8_t> generate(int64_t num_masking_patches, SslRng& rng) const;

  int64_t num_patches() const { return options_.grid_h * options_.grid_w; }
  const BlockMaskOptions& options() const { return options_; }

 private:
  // One round of up to 10 attempts; returns how many patches it newly masked.
  int64_t mask_block(std::vector<uint8_t>& mask, int64_t max_mask_patches, SslRng& rng) const;

  BlockMaskOptions options_;
  double log_aspect_min_, log_aspect_max_;
};

}  // namespace radflow::ml::ssl
