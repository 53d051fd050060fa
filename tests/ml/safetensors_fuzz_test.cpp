// The safetensors reader survives thousands of randomly corrupted files: every one
// either opens (and each tensor then reads back within the file) or fails with a
// safetensors error; none crashes. Run under ASan it also proves no out-of-bounds read.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "plugins/ml/metrics/xoshiro256.h"
#include "plugins/ml/safetensors/safetensors_file.h"
#include "plugins/ml/safetensors/safetensors_writer.h"

namespace radflow::ml::safetensors {
namespace {
namespace fs = std::filesystem;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(SafetensorsFuzz, ThousandsOfCorruptedFilesNeverCrashTheReader) {
  char pattern[] = "/tmp/radflow-st-fuzz-XXXXXX";
  const std::string dir = mkdtemp(pattern);
  const std::string valid = dir + "/valid.safetensors";
  std::vector<float> a(24, 1.5f), b(6, -2.0f);
  std::vector<uint16_t> c(10, 0x3c00);
  ASSERT_TRUE(write_safetensors(valid,
                                {{"a", DType::kF32, {2, 3, 4}, a.data(), a.size() * 4},
                                 {"b", DType::kF32, {6}, b.data(), b.size() * 4},
                                 {"c", DType::kF16, {10}, c.data(), c.size() * 2}},
                                {{"format", "pt"}})
                  .ok());
  const std::string original = read_bytes(valid);
  metrics::Xoshiro256 rng(7);
  const std::string target = dir + "/fuzzed.safetensors";
  int opened = 0, rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string bytes = original;
    switch (rng.uniform_below(4)) {
      case 0:  // flip bytes anywhere
        for (uint64_t k = 0, n = 1 + rng.uniform_below(8); k < n; ++k) {
          bytes[rng.uniform_below(bytes.size())] = static_cast<char>(rng.uniform_below(256));
        }
        break;
      case 1:  // flip bytes in the header, where the structure lives
        for (uint64_t k = 0, n = 1 + rng.uniform_below(4); k < n; ++k) {
          bytes[rng.uniform_below(std::min<size_t>(bytes.size(), 8 + 160))] =
              static_cast<char>(rng.uniform_below(256));
        }
        break;
      case 2:  // truncate
        bytes.resize(rng.uniform_below(bytes.size()));
        break;
      default:  // rewrite a digit of the JSON (offsets, shapes)
        for (size_t at = 8; at < bytes.size() && at < 200; ++at) {
          if (std::isdigit(static_cast<unsigned char>(bytes[at])) && rng.uniform_below(6) == 0) {
            bytes[at] = static_cast<char>('0' + rng.uniform_below(10));
          }
        }
    }
    std::ofstream(target, std::ios::binary | std::ios::trunc) << bytes;
    auto file = SafetensorsFile::open(target);
    if (!file.ok()) {
      ++rejected;
      EXPECT_EQ(file.status().code().rfind("safetensors_", 0), 0u) << file.status().to_string();
      continue;
    }
    ++opened;
    for (const auto& name : file->names()) {
      auto view = file->tensor(name);
      ASSERT_TRUE(view.ok());
      auto values = to_f32(*view);
      if (values.ok()) EXPECT_EQ(values->size() * dtype_size_bytes(view->dtype), view->size_bytes);
    }
  }
  EXPECT_GT(rejected, 1000);  // the corruptions mostly break the file...
  EXPECT_GT(opened, 0);       // ...but some (data bytes) leave a valid one
  fs::remove_all(dir);
}

}  // namespace
}  // namespace radflow::ml::safetensors
