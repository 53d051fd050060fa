#include "plugins/ml/safetensors/float16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace radflow::ml::safetensors {
namespace {

float from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint32_t to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

const float kInf = std::numeric_limits<float>::infinity();
const float kNan = std::numeric_limits<float>::quiet_NaN();

TEST(Float16, KnownValues) {
  EXPECT_EQ(f32_to_f16_bits(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16_bits(-2.5f), 0xC100);
  EXPECT_EQ(f32_to_f16_bits(65504.0f), 0x7BFF);  // largest finite half
  EXPECT_EQ(f32_to_f16_bits(0.1f), 0x2E66);
  EXPECT_EQ(f32_to_f16_bits(0.0f), 0x0000);
  EXPECT_EQ(f32_to_f16_bits(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
}

TEST(Float16, OverflowAndSpecials) {
  EXPECT_EQ(f32_to_f16_bits(65519.0f), 0x7BFF);  // below the halfway point
  EXPECT_EQ(f32_to_f16_bits(65520.0f), 0x7C00);  // tie rounds to even = infinity
  EXPECT_EQ(f32_to_f16_bits(1e10f), 0x7C00);
  EXPECT_EQ(f32_to_f16_bits(kInf), 0x7C00);
  EXPECT_EQ(f32_to_f16_bits(-kInf), 0xFC00);
  const uint16_t nan = f32_to_f16_bits(kNan);
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
  // A signalling NaN whose payload sits in the dropped low bits must stay NaN.
  EXPECT_NE(f32_to_f16_bits(from_bits(0x7F800001u)) & 0x03FF, 0);
}

TEST(Float16, Subnormals) {
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(1023.0f, -24)), 0x03FF);  // largest subnormal
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(1.0f, -25)), 0x0000);   // tie -> even (0)
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(1.5f, -25)), 0x0001);   // above the tie
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(3.0f, -25)), 0x0002);   // 1.5 units: tie -> even 2
  EXPECT_EQ(f32_to_f16_bits(std::ldexp(5.0f, -25)), 0x0002);   // 2.5 units: tie -> even 2
  EXPECT_EQ(f32_to_f16_bits(-std::ldexp(1.0f, -24)), 0x8001);
  EXPECT_EQ(f32_to_f16_bits(1e-10f), 0x0000);
  EXPECT_EQ(f16_bits_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_bits_to_f32(0x03FF), std::ldexp(1023.0f, -24));
}

TEST(Float16, RoundingTiesToEven) {
  const float ulp = std::ldexp(1.0f, -10);  // half ulp at 1.0 is 2^-11
  EXPECT_EQ(f32_to_f16_bits(1.0f + ulp / 2), 0x3C00);      // tie, 0x3C00 even
  EXPECT_EQ(f32_to_f16_bits(1.0f + 3 * ulp / 2), 0x3C02);  // tie, 0x3C01 odd -> up
  EXPECT_EQ(f32_to_f16_bits(std::nextafter(1.0f + ulp / 2, 2.0f)), 0x3C01);
  EXPECT_EQ(f32_to_f16_bits(2047.0f / 1024.0f + ulp / 2), 0x4000);  // carry into exponent
}

TEST(Float16, DecodesKnownValues) {
  EXPECT_EQ(f16_bits_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_bits_to_f32(0xC100), -2.5f);
  EXPECT_EQ(f16_bits_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_bits_to_f32(0x7C00), kInf);
  EXPECT_EQ(f16_bits_to_f32(0xFC00), -kInf);
  EXPECT_TRUE(std::isnan(f16_bits_to_f32(0x7E00)));
  EXPECT_TRUE(std::signbit(f16_bits_to_f32(0x8000)));
}

TEST(Float16, EveryHalfRoundTripsExactly) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const float f = f16_bits_to_f32(static_cast<uint16_t>(bits));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_bits_to_f32(f32_to_f16_bits(f)))) << bits;
      continue;
    }
    ASSERT_EQ(f32_to_f16_bits(f), bits) << "bits " << bits;
  }
}

TEST(BFloat16, KnownValues) {
  EXPECT_EQ(f32_to_bf16_bits(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16_bits(-2.5f), 0xC020);
  EXPECT_EQ(f32_to_bf16_bits(65504.0f), 0x4780);  // rounds up to 65536
  EXPECT_EQ(bf16_bits_to_f32(0x4780), 65536.0f);
  EXPECT_EQ(f32_to_bf16_bits(kInf), 0x7F80);
  EXPECT_EQ(f32_to_bf16_bits(-kInf), 0xFF80);
  EXPECT_EQ(f32_to_bf16_bits(std::numeric_limits<float>::max()), 0x7F80);  // rounds to inf
  EXPECT_TRUE(std::isnan(bf16_bits_to_f32(f32_to_bf16_bits(kNan))));
  EXPECT_TRUE(std::isnan(bf16_bits_to_f32(f32_to_bf16_bits(from_bits(0x7F800001u)))));
  EXPECT_EQ(f32_to_bf16_bits(from_bits(0xFFC00000u)), 0xFFC0);  // sign of NaN kept
}

TEST(BFloat16, RoundingTiesToEvenAndSubnormals) {
  EXPECT_EQ(f32_to_bf16_bits(from_bits(0x3F808000u)), 0x3F80);  // tie, even stays
  EXPECT_EQ(f32_to_bf16_bits(from_bits(0x3F818000u)), 0x3F82);  // tie, odd goes up
  EXPECT_EQ(f32_to_bf16_bits(from_bits(0x3F808001u)), 0x3F81);  // just above the tie
  EXPECT_EQ(f32_to_bf16_bits(from_bits(0x000116C2u)), 0x0001);  // f32 subnormal
  EXPECT_EQ(to_bits(bf16_bits_to_f32(0x0001)), 0x00010000u);
}

TEST(BFloat16, EveryBf16RoundTripsExactly) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const float f = bf16_bits_to_f32(static_cast<uint16_t>(bits));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_bf16_bits(f), bits) << "bits " << bits;
  }
}

TEST(Float16, VectorHelpers) {
  const float values[] = {1.0f, -2.5f, 0.5f};
  const std::vector<uint16_t> half = f32_to_f16(values, 3);
  const std::vector<float> back = f16_to_f32(half.data(), half.size());
  EXPECT_EQ(back, std::vector<float>({1.0f, -2.5f, 0.5f}));
  const std::vector<uint16_t> brain = f32_to_bf16(values, 3);
  EXPECT_EQ(bf16_to_f32(brain.data(), brain.size()), std::vector<float>({1.0f, -2.5f, 0.5f}));
}

}  // namespace
}  // namespace radflow::ml::safetensors
