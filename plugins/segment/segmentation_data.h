// SegmentationSplit: what the segment plugin trains or evaluates on for one split of a
// feature set: the patch tokens of the chosen encoder blocks as 2-D feature maps and
// the ground-truth masks of the chosen structures, resized nearest-neighbour to the
// output resolution. load_split() reads the mask PNGs; nothing is cached.
// Plain data, owns its tensors; not shared between threads.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/ml/eval/feature_set.h"

namespace radflow::segment {

struct SegmentationSplit {
  std::vector<size_t> rows;           // indices into FeatureSet::rows, in row order
  std::vector<torch::Tensor> layers;  // one per chosen block: [n, D, grid_h, grid_w] float32
  torch::Tensor masks;                // [n, structures, mask_h, mask_w] uint8, 0 or 1

  int64_t size() const { return static_cast<int64_t>(rows.size()); }
};

// Structures with a mask in every train row, sorted (synth-cxr: lungs and heart; the
// findings' masks exist only for images that show the finding).
std::vector<std::string> default_structures(const ml::eval::FeatureSet& set);

// Fails ("segment_invalid_input") when a structure has a mask in no row at all.
Status check_structures(const ml::eval::FeatureSet& set, const std::vector<std::string>& structures);

// A binary mask (1 where the file's pixel is non-zero) resized nearest-neighbour to
// out_rows x out_cols. Errors name the file (missing, unreadable).
Result<std::vector<uint8_t>> read_mask(const std::string& path, int64_t out_rows, int64_t out_cols);

// The rows of `split` with the tokens of `layers` (block indices present in
// set.patch_tokens) and their masks. A structure missing from a row's masks is an
// empty mask there. Errors: an unreadable mask file, named.
Result<SegmentationSplit> load_split(const ml::eval::FeatureSet& set, const std::string& split,
                                     const std::vector<int64_t>& layers,
                                     const std::vector<std::string>& structures, int64_t mask_h,
                                     int64_t mask_w);

}  // namespace radflow::segment
