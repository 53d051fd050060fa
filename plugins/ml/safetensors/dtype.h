// DType: element types of safetensors tensors, with their on-disk names
// ("F32", "BF16", ...) and sizes. The reader accepts all of them; model code writes
// F32, F16 and BF16. Plain enum and pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace radflow::ml::safetensors {

enum class DType { kBool, kU8, kI8, kI16, kI32, kI64, kF16, kBF16, kF32, kF64 };

// Bytes per element (BOOL is one byte per element).
size_t dtype_size_bytes(DType dtype);
// The safetensors header name, e.g. "BF16".
const char* dtype_name(DType dtype);
// Inverse of dtype_name(); nullopt for names this reader does not know.
std::optional<DType> parse_dtype(std::string_view name);

}  // namespace radflow::ml::safetensors
