// SslRng: the seeded random source of the SSL data pipeline (block masking, stratified
// mask ratios, multi-crop parameters). Python's random module cannot be matched bit for
// bit anyway, so the aim is a stream that is identical on every platform and compiler:
// std::mt19937_64 is fully specified, and the derived draws below avoid the
// implementation-defined std::*_distribution classes.
//
// Value type; not thread-safe (give each data worker its own, seeded from the step).
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace radflow::ml::ssl {

// splitmix64's finaliser: spreads a seed (or seed + counter) over all 64 bits; used to
// derive independent per-step / per-epoch seeds.
inline uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class SslRng {
 public:
  explicit SslRng(uint64_t seed) : engine_(seed) {}

  uint64_t next_u64() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // Python's random.uniform(a, b): a + (b - a) * U[0, 1); b < a is allowed.
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  // Uniform integer in [lo, hi] inclusive (Python's randint), unbiased by rejection.
  int64_t randint(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    if (span == 0) return static_cast<int64_t>(engine_());  // the full 64-bit range
    const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t x = engine_();
    while (x >= limit) x = engine_();
    return lo + static_cast<int64_t>(x % span);
  }
  bool bernoulli(double p) { return uniform() < p; }
  // Fisher-Yates, the same walk as Python's random.shuffle.
  template <class T>
  void shuffle(std::vector<T>& values) {
    for (int64_t i = static_cast<int64_t>(values.size()) - 1; i > 0; --i) {
      std::swap(values[static_cast<size_t>(i)], values[static_cast<size_t>(randint(0, i))]);
    }
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace radflow::ml::ssl
