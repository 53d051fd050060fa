// RAD-DINO preprocessing (microsoft/rad-dino's BitImageProcessor), in plain C++:
// resize so the shortest edge is `shortest_edge` (bicubic, antialiased when shrinking,
// as PIL's Image.resize(BICUBIC) — the processor resizes through PIL), centre crop to
// crop_size x crop_size (zero padded if smaller, as transformers' center_crop), then
// normalise (v - mean) / std, with grayscale copied to 3 channels.
//
// Input values are display values in [0, 1] (display.h) — the processor's rescale by
// 1/255 of an 8-bit image. PIL resizes 8-bit images with 8-bit rounding between
// passes; this works in float, so values agree with PIL to about 1/255 on 8-bit
// input. Pure functions, thread-safe. The output is channel-major (CHW) so it can be
// wrapped without copying, e.g. torch::from_blob(out.data(), {3, crop, crop}).
#pragma once

#include <vector>

namespace radflow::ml {

struct RadDinoPreprocessOptions {
  int shortest_edge = 518;
  int crop_size = 518;
  float mean = 0.5307f;
  float std = 0.2583f;
};

// The output size of a shortest-edge resize, as transformers computes it
// (the long side is truncated: int(size * long / short)). Returns {rows, cols}.
std::pair<int, int> shortest_edge_size(int rows, int cols, int shortest_edge);

// PIL-compatible separable resize of an interleaved rows x cols x channels image.
// Bicubic (a = -0.5) with the kernel widened by the scale when shrinking.
std::vector<float> resize_bicubic(const std::vector<float>& in, int rows, int cols, int channels,
                                  int out_rows, int out_cols);

// Centre crop (or zero pad) to out_rows x out_cols; top = (rows - out_rows) / 2.
std::vector<float> center_crop(const std::vector<float>& in, int rows, int cols, int channels,
                               int out_rows, int out_cols);

// values: rows x cols x channels (1 or 3) in [0, 1]. Returns 3 x crop x crop (CHW).
std::vector<float> rad_dino_preprocess(const std::vector<float>& values, int rows, int cols,
                                       int channels, const RadDinoPreprocessOptions& options = {});

}  // namespace radflow::ml
