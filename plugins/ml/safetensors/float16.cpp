#include "plugins/ml/safetensors/float16.h"

#include <cmath>
#include <cstring>

namespace radflow::ml::safetensors {
namespace {

uint32_t float_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float bits_float(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// Shifts `value` right by `shift` bits rounding to nearest, ties to even.
uint32_t shift_round_even(uint32_t value, unsigned shift) {
  const uint32_t kept = value >> shift;
  const uint32_t rest = value & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  return (rest > half || (rest == half && (kept & 1u))) ? kept + 1u : kept;
}

}  // namespace

uint16_t f32_to_f16_bits(float value) {
  const uint32_t bits = float_bits(value);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude >= 0x7F800000u) {  // inf or NaN
    if (magnitude == 0x7F800000u) return sign | 0x7C00u;
    return static_cast<uint16_t>(sign | 0x7E00u | ((magnitude >> 13) & 0x3FFu));
  }
  // 65520 = 0x477FF000 is halfway between 65504 (odd mantissa) and 2^16: ties to even
  // rounds it, and everything above, to infinity.
  if (magnitude >= 0x477FF000u) return sign | 0x7C00u;
  if (magnitude >= 0x38800000u) {  // normal in f16 (>= 2^-14)
    // Rebias the exponent (127 -> 15) and round the mantissa from 23 to 10 bits; a
    // carry out of the mantissa correctly bumps the exponent.
    const uint32_t rebased = magnitude - (112u << 23);
    return static_cast<uint16_t>(sign | shift_round_even(rebased, 13));
  }
  if (magnitude <= 0x33000000u) return sign;  // <= 2^-25 rounds (ties to even) to zero
  // Subnormal in f16: count units of 2^-24. Rounding up to 0x400 yields the smallest
  // normal, whose bit pattern is exactly that.
  const uint32_t exponent = magnitude >> 23;
  const uint32_t mantissa = (magnitude & 0x7FFFFFu) | 0x800000u;
  return static_cast<uint16_t>(sign | shift_round_even(mantissa, 126u - exponent));
}

float f16_bits_to_f32(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1Fu;
  const uint32_t mantissa = bits & 0x3FFu;
  if (exponent == 0) {
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // exact
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1F) return bits_float(sign | 0x7F800000u | (mantissa << 13));
  return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

uint16_t f32_to_bf16_bits(float value) {
  const uint32_t bits = float_bits(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {  // NaN: keep sign, force quiet
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  }
  const uint32_t rounding_bias = 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding_bias) >> 16);
}

float bf16_bits_to_f32(uint16_t bits) { return bits_float(static_cast<uint32_t>(bits) << 16); }

std::vector<uint16_t> f32_to_f16(const float* values, size_t count) {
  std::vector<uint16_t> out(count);
  for (size_t i = 0; i < count; ++i) out[i] = f32_to_f16_bits(values[i]);
  return out;
}

std::vector<uint16_t> f32_to_bf16(const float* values, size_t count) {
  std::vector<uint16_t> out(count);
  for (size_t i = 0; i < count; ++i) out[i] = f32_to_bf16_bits(values[i]);
  return out;
}

std::vector<float> f16_to_f32(const uint16_t* bits, size_t count) {
  std::vector<float> out(count);
  for (size_t i = 0; i < count; ++i) out[i] = f16_bits_to_f32(bits[i]);
  return out;
}

std::vector<float> bf16_to_f32(const uint16_t* bits, size_t count) {
  std::vector<float> out(count);
  for (size_t i = 0; i < count; ++i) out[i] = bf16_bits_to_f32(bits[i]);
  return out;
}

}  // namespace radflow::ml::safetensors
