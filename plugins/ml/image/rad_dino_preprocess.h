// RAD-DINO preprocessing (microsoft/rad-dino's BitImageProcessor), in plain C++:
// resize so the shortest edge is `shortest_edge` (bicubic, antialiased when shrinking,
// as PIL's Image.resize(BICUBIC) — the processor resizes through PIL), centre crop to
// crop_size x crop_size (zero padded if smaller, as transformers' center_crop), then
// normalise (v - mean) / std, with grayscale copied to 3 channels.
//
// rad_dino_preprocess takes display values in [0, 1] (display.h) and resizes in float,
// only the rows and columns the crop keeps;
// rad_dino_preprocess_8bit takes 8-bit samples and resizes as PIL does for 8-bit
// images (rounding to uint8 after each pass), so its output equals the processor's
// bit for bit. rad_dino_input picks between them. Pure functions, thread-safe. The output is channel-major (CHW) so it can be
// wrapped without copying, e.g. torch::from_blob(out.data(), {3, crop, crop}).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "plugins/ml/image/image.h"

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
// Bicubic (a = -0.5) with the kernel widened by the scale when shrinking, in float32
// (resample.h; torch's antialiased interpolate is float32 too).
std::vector<float> resize_bicubic(const std::vector<float>& in, int rows, int cols, int channels,
                                  int out_rows, int out_cols);

// PIL's own 8-bit path of the same resize (Image.resize(BICUBIC) on an "L" or "RGB"
// image): fixed-point weights and a rounding to uint8 after each pass, bit for bit.
std::vector<uint8_t> resize_bicubic_8bpc(const std::vector<uint8_t>& in, int rows, int cols, int channels,
                                         int out_rows, int out_cols);

// Centre crop (or zero pad) to out_rows x out_cols; top = (rows - out_rows) / 2.
// Instantiated for float and uint8_t.
template <typename T>
std::vector<T> center_crop(const std::vector<T>& in, int rows, int cols, int channels, int out_rows,
                           int out_cols);

// values: rows x cols x channels (1 or 3) in [0, 1]. Returns 3 x crop x crop (CHW).
std::vector<float> rad_dino_preprocess(const std::vector<float>& values, int rows, int cols,
                                       int channels, const RadDinoPreprocessOptions& options = {});

// The processor exactly, for 8-bit images: resize_bicubic_8bpc, crop, then
// (float32(x * (1/255)) - mean) / std. Returns 3 x crop x crop (CHW).
std::vector<float> rad_dino_preprocess_8bit(const std::vector<uint8_t>& values, int rows, int cols,
                                            int channels, const RadDinoPreprocessOptions& options = {});

// The encoder's input for one decoded image (first frame): 8-bit PNG and JPEG go
// through rad_dino_preprocess_8bit (x / 255, as microsoft/rad-dino's processor);
// everything else — DICOM through its VOI window (display.h), 16-bit PNG as
// x / 65535 — through rad_dino_preprocess. Precondition: 1 or 3 samples per pixel.
std::vector<float> rad_dino_input(const Image& image, const RadDinoPreprocessOptions& options = {});

}  // namespace radflow::ml
