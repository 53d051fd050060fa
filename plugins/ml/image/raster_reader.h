// read_png / read_jpeg: decode natural-image files (libpng, libjpeg-turbo) into an
// Image (see image.h): PNG 8 or 16 bit gray/RGB (palette and low bit depths expanded,
// alpha dropped), JPEG 8 bit gray/RGB. Photometric is MONOCHROME2 or RGB, slope 1,
// intercept 0, no window. Errors name the file and the reason (code "image_error");
// no exceptions. Thread-safe (no shared state).
#pragma once

#include <string>

#include "common/status.h"
#include "plugins/ml/image/image.h"

namespace radflow::ml {

Result<Image> read_png(const std::string& path);
Result<Image> read_jpeg(const std::string& path);

}  // namespace radflow::ml
