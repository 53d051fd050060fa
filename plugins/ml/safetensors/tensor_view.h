// TensorView: a borrowed, read-only view of one tensor inside a safetensors file;
// TensorToWrite: a borrowed description of one tensor to be written.
//
// Neither owns its bytes. A TensorView's `data` points into the memory mapping of
// the SafetensorsFile it came from and stays valid while that file object (or a copy
// of it) is alive; it may be unaligned for the element type, so read elements with
// memcpy or to_f32(). A TensorToWrite's `data` must stay valid until
// write_safetensors() returns. Data is little-endian, row-major (C order).
// Plain structs; thread-safe to read concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/ml/safetensors/dtype.h"

namespace radflow::ml::safetensors {

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // empty for a scalar (one element)
  const uint8_t* data = nullptr;
  size_t size_bytes = 0;
};

struct TensorToWrite {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // borrowed; size_bytes bytes, little-endian
  size_t size_bytes = 0;
};

// Product of the dims (1 for a scalar); nullopt when a dim is negative or the
// product overflows int64.
std::optional<int64_t> element_count(const std::vector<int64_t>& shape);

// Copies a F32, F16, BF16 or F64 tensor into float32 (F64 is rounded to nearest).
// Other dtypes give "safetensors_unsupported_dtype".
Result<std::vector<float>> to_f32(const TensorView& tensor);

}  // namespace radflow::ml::safetensors
