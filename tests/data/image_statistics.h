// Global intensity statistics of one image as the encoder sees it: the features a
// histogram shortcut would use (mean, std, 5th/50th/95th percentiles of the display
// values). Shared by the synth-cxr shortcut tests (tests/data, tests/ml/demographic).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace radflow::test {

inline double percentile(std::vector<float> v, double p) {
  std::sort(v.begin(), v.end());
  const double at = p * (v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(at));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (at - lo) * (v[hi] - v[lo]);
}

inline std::vector<double> global_statistics(const std::vector<float>& v) {
  double sum = 0, squares = 0;
  for (float x : v) sum += x;
  const double mean = sum / v.size();
  for (float x : v) squares += (x - mean) * (x - mean);
  return {mean, std::sqrt(squares / v.size()), percentile(v, 0.05), percentile(v, 0.5), percentile(v, 0.95)};
}

}  // namespace radflow::test
