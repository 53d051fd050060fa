// Xoshiro256: the xoshiro256** generator (Blackman & Vigna), seeded through
// splitmix64. Used instead of <random> distributions because those are not
// specified bit-for-bit, so a seeded bootstrap would differ between libstdc++ and
// libc++; this one gives the same stream everywhere.
//
// Value type, cheap to copy; not thread-safe (give each thread its own).
#pragma once

#include <cstdint>

namespace radflow::ml::metrics {

// One splitmix64 step: advances *state and returns the next output.
inline uint64_t splitmix64_next(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    uint64_t sm = seed;
    for (uint64_t& word : state_) word = splitmix64_next(&sm);
  }

  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform integer in [0, bound), bound > 0. Rejection sampling removes the
  // modulo bias, so every index is exactly equally likely.
  uint64_t uniform_below(uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;  // == 2^64 mod bound
    for (;;) {
      const uint64_t r = next();
      if (r >= threshold) return r % bound;
    }
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace radflow::ml::metrics
