// read_image: opens any supported image file, choosing the decoder by its content
// (PNG and JPEG signatures; anything else is tried as DICOM, with or without the
// 128-byte preamble). Errors name the file and the reason (code "image_error").
// Thread-safe.
#pragma once

#include <string>

#include "common/status.h"
#include "plugins/ml/image/image.h"

namespace radflow::ml {

Result<Image> read_image(const std::string& path, FrameSelection frames = FrameSelection::kFirst);

}  // namespace radflow::ml
