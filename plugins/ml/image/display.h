// display_frame: maps one frame of an Image (modality values) to display values in
// [0, 1], the way a viewer shows it: VOI window (DICOM PS3.3 C.11.2.1.2, linear) or a
// linear range, then MONOCHROME1 inverted so that 1 is always white. This is what
// `radflow image convert` writes to PNG and what preprocessing starts from.
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "plugins/ml/image/image.h"

namespace radflow::ml {

enum class DisplayRange {
  kWindow,     // the window given in DisplayOptions, else the file's; without one,
               // kBitDepth for PNG/JPEG (8-bit: x / 255, 16-bit: x / 65535) and
               // kMinMax for DICOM (a DICOM file without VOI window)
  kMinMax,     // the frame's minimum to maximum
  kBitDepth,   // 0 to 2^bits_stored - 1 (signed: -2^(bits-1) to 2^(bits-1) - 1)
};

struct DisplayOptions {
  DisplayRange range = DisplayRange::kWindow;
  std::optional<double> window_center;  // overrides the file's window when both set
  std::optional<double> window_width;
  bool invert_monochrome1 = true;
};

// The map from modality values to display values that display_frame applies to every
// sample of one frame, for callers that map as they go instead of copying the frame
// (rad_dino_input). kMinMax reads the frame once to find its range.
class DisplayMap {
 public:
  DisplayMap(const Image& image, int frame, const DisplayOptions& options);

  // out[i] = the display value of in[i], i < n; in and out may be the same.
  void apply(const float* in, size_t n, float* out) const;

 private:
  bool window_ = false;
  double center_ = 0, width_ = 1;  // window_
  double low_ = 0, span_ = 1;      // !window_: clamp((v - low_) / span_, 0, 1)
  bool invert_ = false;
};

// Returns rows * cols * samples_per_pixel values in [0, 1]. Precondition: valid frame.
std::vector<float> display_frame(const Image& image, int frame = 0, const DisplayOptions& options = {});

// The DICOM linear VOI function for one value, in [0, 1]. Precondition: width >= 1.
double apply_window(double value, double center, double width);

}  // namespace radflow::ml
