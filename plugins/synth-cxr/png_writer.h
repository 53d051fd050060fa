// write_png_gray8: writes an 8-bit grayscale PNG (used for 0/255 masks) with libpng.
// Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace radflow::synth {

// `pixels` is row-major width*height. Error code "png_write" names the file.
Status write_png_gray8(const std::string& path, const std::vector<uint8_t>& pixels, int width, int height);

}  // namespace radflow::synth
