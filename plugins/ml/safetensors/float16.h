// Conversions between float32 and the two 16-bit float formats stored in
// safetensors files: IEEE binary16 ("F16") and bfloat16 ("BF16"). 16-bit values are
// carried as their raw bit patterns (uint16_t) in little-endian host order.
//
// float32 -> 16-bit rounds to nearest, ties to even (as torch's .half() and
// .bfloat16() do); overflow becomes +-inf, NaN stays NaN (quiet, sign kept),
// subnormals are produced and read exactly. 16-bit -> float32 is exact.
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace radflow::ml::safetensors {

uint16_t f32_to_f16_bits(float value);
float f16_bits_to_f32(uint16_t bits);
uint16_t f32_to_bf16_bits(float value);
float bf16_bits_to_f32(uint16_t bits);

std::vector<uint16_t> f32_to_f16(const float* values, size_t count);
std::vector<uint16_t> f32_to_bf16(const float* values, size_t count);
std::vector<float> f16_to_f32(const uint16_t* bits, size_t count);
std::vector<float> bf16_to_f32(const uint16_t* bits, size_t count);

}  // namespace radflow::ml::safetensors
