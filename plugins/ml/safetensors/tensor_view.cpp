#include "plugins/ml/safetensors/tensor_view.h"

#include <cstring>
#include <limits>

#include "plugins/ml/safetensors/float16.h"

namespace radflow::ml::safetensors {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; add byte swapping for this host");

std::optional<int64_t> element_count(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim) return std::nullopt;
    count *= dim;
  }
  return count;
}

Result<std::vector<float>> to_f32(const TensorView& tensor) {
  const size_t n = tensor.size_bytes / dtype_size_bytes(tensor.dtype);
  std::vector<float> out(n);
  switch (tensor.dtype) {
    case DType::kF32:
      std::memcpy(out.data(), tensor.data, n * sizeof(float));
      return out;
    case DType::kF64:
      for (size_t i = 0; i < n; ++i) {
        double value;
        std::memcpy(&value, tensor.data + i * sizeof(double), sizeof value);
        out[i] = static_cast<float>(value);
      }
      return out;
    case DType::kF16:
    case DType::kBF16: {
      const bool is_bf16 = tensor.dtype == DType::kBF16;
      for (size_t i = 0; i < n; ++i) {
        uint16_t bits;
        std::memcpy(&bits, tensor.data + i * sizeof bits, sizeof bits);
        out[i] = is_bf16 ? bf16_bits_to_f32(bits) : f16_bits_to_f32(bits);
      }
      return out;
    }
    default:
      return Status::error("safetensors_unsupported_dtype",
                           "tensor '" + tensor.name + "' has dtype " + dtype_name(tensor.dtype) +
                               ", which does not convert to float32");
  }
}

}  // namespace radflow::ml::safetensors
