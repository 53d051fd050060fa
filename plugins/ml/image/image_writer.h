// Writers for `radflow image convert`: a 16-bit PNG of display values and a NumPy
// .npy of float32 values. Errors name the file (code "image_error"); no exceptions.
// Thread-safe (no shared state).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace radflow::ml {

// values: rows * cols * samples (1 gray, 3 RGB) display values in [0, 1] (clamped),
// written as 16-bit samples round(v * 65535).
Status write_png16(const std::string& path, const std::vector<float>& values, int rows, int cols,
                   int samples);

// A version 1.0 .npy of little-endian float32 in C order with the given shape.
// Precondition: the product of shape equals values.size().
Status write_npy(const std::string& path, const std::vector<float>& values,
                 const std::vector<size_t>& shape);

}  // namespace radflow::ml
