// Image: one decoded medical or natural image, as every reader in plugins/ml/image
// returns it. Plain data (no LibTorch), owns its pixels, not shared between threads.
//
// pixels are float32 after the modality LUT (stored value * rescale_slope +
// rescale_intercept) and before any MONOCHROME1 inversion, VOI LUT or window, laid
// out frame-major, then row, then column, then sample (colour is interleaved RGB):
//   pixels[((frame * rows + row) * cols + col) * samples_per_pixel + sample]
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace radflow::ml {

struct Image {
  int rows = 0;
  int cols = 0;
  int frames = 0;             // frames held in `pixels` (1 when only the first was read)
  int frames_in_file = 0;     // NumberOfFrames of the file (1 for PNG/JPEG)
  int samples_per_pixel = 1;  // 1 grayscale, 3 RGB
  std::vector<float> pixels;
  std::string photometric;    // "MONOCHROME1", "MONOCHROME2", "RGB", ...
  int bits_allocated = 0;
  int bits_stored = 0;
  bool pixel_signed = false;  // PixelRepresentation 1
  std::optional<double> window_center;  // first value of (0028,1050), if present
  std::optional<double> window_width;   // first value of (0028,1051), if present
  std::string transfer_syntax_uid;      // empty for PNG/JPEG
  std::string transfer_syntax_name;     // "Explicit VR Little Endian", "PNG", "JPEG", ...
  std::string modality;                 // (0008,0060); empty for PNG/JPEG
  double rescale_slope = 1.0;
  double rescale_intercept = 0.0;

  size_t frame_size() const {
    return static_cast<size_t>(rows) * cols * samples_per_pixel;
  }
  bool is_monochrome1() const { return photometric == "MONOCHROME1"; }
  // The pixels of one frame (a copy). Precondition: 0 <= frame < frames.
  std::vector<float> frame_pixels(int frame) const;
};

// Which frames a multi-frame reader decodes.
enum class FrameSelection { kFirst, kAll };

// The error every image reader and writer returns: code "image_error", message
// "<path>: <reason>", path = the file.
Error image_error(const std::string& path, const std::string& reason);

}  // namespace radflow::ml
