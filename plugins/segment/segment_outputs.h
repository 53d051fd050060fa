// The segment plugin's per-sample artifacts, written from plain bytes (no LibTorch):
//
//   predictions/masks.safetensors  "pred" and "truth", uint8 [images, structures, H, W]
//                                  (0/1, the test split in row order, at the mask size
//                                  the metrics were computed at); metadata "structures"
//                                  and "paths" (JSON arrays)
//   predictions/overlap.csv        path,structure,pred_pixels,true_pixels,intersection,
//                                  union,dice,iou: one line per test image and structure;
//                                  the reported Dice/IoU are the means of these columns
//   overlays/<k>_<image>.png       write_overlay() of the first test images
//
// Free functions; thread-safe for distinct folders.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/segment/mask_scores.h"

namespace radflow::segment {

struct TestMasks {
  std::vector<std::string> paths;       // image path of each test row
  std::vector<std::string> structures;
  int64_t mask_h = 0, mask_w = 0;
  std::vector<uint8_t> pred, truth;     // images * structures * mask_h * mask_w
};

Status write_predictions(const std::string& dir, const TestMasks& masks, const MaskScores& scores);

// Writes up to `count` overlays into `dir`; returns how many were written. An image
// that cannot be read is drawn on a mid-grey background and reported to `warn`.
Result<int> write_overlays(const std::string& dir, const TestMasks& masks, int count,
                           const std::function<void(const std::string&)>& warn);

}  // namespace radflow::segment
