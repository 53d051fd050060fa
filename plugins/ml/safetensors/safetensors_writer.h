// write_safetensors(): writes tensors and string metadata as one safetensors file.
//
// Layout: tensors in ascending name order, packed back to back (no padding); the JSON
// header lists "__metadata__" first (omitted when empty), then the tensors in the
// same order, and is padded with spaces to a multiple of 8 bytes as the reference
// implementation does, so the data section starts 8-byte aligned.
//
// The write is atomic: bytes go to "<path>.tmp.<pid>", are fsync'ed, and the temp file
// is renamed over `path`; on failure the temp file is removed and `path` is untouched.
// Errors: "safetensors_invalid_tensor" (empty or duplicate name, the reserved name
// "__metadata__", a negative dim, size_bytes != product(shape) * dtype size, null
// data with a non-zero size) and "safetensors_io". Thread-safe for distinct paths.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/ml/safetensors/tensor_view.h"

namespace radflow::ml::safetensors {

Status write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace radflow::ml::safetensors
