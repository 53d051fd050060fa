// The DICOM reader survives thousands of randomly corrupted files: each one either
// decodes to a consistent Image or fails with an "image_error" naming the file; none
// crashes, hangs or makes the reader allocate for a tampered size. The seeds are small
// valid files in 9 transfer syntaxes (written with DCMTK and OpenJPEG); the corruptions
// are bit flips, truncation, byte insertion and deletion, tampered length fields and
// garbage in the pixel-module values. Run under ASan/UBSan it also proves no
// out-of-bounds access. For a longer hunt by hand, RADFLOW_DICOM_FUZZ_SEED and
// RADFLOW_DICOM_FUZZ_ROUNDS override the fixed seed and the 3600 rounds.
#include <gtest/gtest.h>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpeg/djrploss.h>
#include <dcmtk/oflog/oflog.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <fstream>
#include <random>

#include "plugins/ml/image/dicom_reader.h"
#include "tests/ml/image/test_dicom.h"

namespace radflow::ml {
namespace {

using testing::Syntax;
using testing::TestImage;
using testing::read_bytes;

// A fixed UID makes the seed files, and so the corruptions, the same on every run.
constexpr const char* kSeedUid = "2.25.20240604";

// A lossy JPEG baseline copy of an 8-bit explicit-LE file (test_dicom writes only
// lossless syntaxes).
std::string to_jpeg_baseline(const std::string& source, const std::string& target) {
  DJEncoderRegistration::registerCodecs();  // ignored when already registered
  OFLog::configure(OFLogger::FATAL_LOG_LEVEL);  // the lossy encoder logs an info line
  DcmFileFormat file;
  if (file.loadFile(source.c_str()).bad()) return "cannot load " + source;
  DJ_RPLossy params(90);
  if (file.getDataset()->chooseRepresentation(EXS_JPEGProcess1, &params).bad()) return "encode failed";
  file.getDataset()->putAndInsertString(DCM_SOPInstanceUID, kSeedUid);  // lossy gets a new one
  if (file.saveFile(target.c_str(), EXS_JPEGProcess1).bad()) return "save failed";
  return {};
}

// Valid seed files: grey 16-bit signed and 8-bit, RGB, multi-frame.
std::vector<std::string> seed_files(const std::string& dir) {
  std::vector<std::string> seeds;
  auto add = [&](TestImage im, Syntax syntax, const std::string& name) {
    im.values = testing::pattern(im);
    im.sop_instance_uid = kSeedUid;
    const std::string path = dir + "/" + name + ".dcm";
    EXPECT_EQ(testing::write_dicom(im, syntax, path), "") << name;
    seeds.push_back(read_bytes(path));
  };
  TestImage grey;
  grey.rows = 20;
  grey.cols = 24;
  grey.is_signed = true;
  grey.slope = 2.0;
  grey.intercept = -1024.0;
  for (Syntax s : {Syntax::kExplicitLittle, Syntax::kImplicitLittle, Syntax::kExplicitBig,
                   Syntax::kDeflated, Syntax::kRle, Syntax::kJpegLsLossless, Syntax::kJpegLossless,
                   Syntax::kJ2kLossless}) {
    add(grey, s, std::string("grey_") + testing::syntax_name(s));
  }
  TestImage rgb;
  rgb.rows = rgb.cols = 16;
  rgb.samples = 3;
  rgb.photometric = "RGB";
  rgb.bits_allocated = rgb.bits_stored = 8;
  rgb.high_bit = 7;
  for (Syntax s : {Syntax::kRle, Syntax::kJ2kLossless}) add(rgb, s, std::string("rgb_") + testing::syntax_name(s));
  TestImage frames;
  frames.rows = frames.cols = 16;
  frames.frames = 3;
  frames.bits_allocated = frames.bits_stored = 8;
  frames.high_bit = 7;
  for (Syntax s : {Syntax::kExplicitLittle, Syntax::kRle, Syntax::kJpegLossless, Syntax::kJ2kLossless}) {
    add(frames, s, std::string("frames_") + testing::syntax_name(s));
  }
  EXPECT_EQ(to_jpeg_baseline(dir + "/frames_ExplicitLittle.dcm", dir + "/frames_JpegBaseline.dcm"), "");
  seeds.push_back(read_bytes(dir + "/frames_JpegBaseline.dcm"));
  return seeds;
}

// Deterministic on every platform: only the engine's raw output is used.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t below(uint64_t n) { return n == 0 ? 0 : engine_() % n; }
  uint32_t interesting() {
    static const uint32_t kValues[] = {0,      1,          2,          7,          8,          12,
                                       15,     16,         17,         31,         32,         255,
                                       0x7FFF, 0x8000,     0xFFFF,     0x10000,    0x7FFFFFFF, 0x80000000,
                                       0xFFFFFFFE, 0xFFFFFFFF};
    return below(3) == 0 ? static_cast<uint32_t>(engine_()) : kValues[below(std::size(kValues))];
  }

 private:
  std::mt19937_64 engine_;
};

// A tag the decoder depends on, found in the file in either byte order.
struct TagAt {
  size_t pos;
  uint16_t group, element;
  bool big_endian;
};
std::vector<TagAt> find_tags(const std::string& bytes) {
  static const uint16_t kTags[][2] = {
      {0x7FE0, 0x0010}, {0xFFFE, 0xE000}, {0xFFFE, 0xE0DD}, {0x0028, 0x0010}, {0x0028, 0x0011},
      {0x0028, 0x0008}, {0x0028, 0x0002}, {0x0028, 0x0006}, {0x0028, 0x0100}, {0x0028, 0x0101},
      {0x0028, 0x0102}, {0x0028, 0x0103}, {0x0002, 0x0010}, {0x0002, 0x0000}, {0x0028, 0x0004}};
  std::vector<TagAt> found;
  for (const auto& tag : kTags) {
    const char le[4] = {static_cast<char>(tag[0] & 0xFF), static_cast<char>(tag[0] >> 8),
                        static_cast<char>(tag[1] & 0xFF), static_cast<char>(tag[1] >> 8)};
    const char be[4] = {le[1], le[0], le[3], le[2]};
    for (bool big : {false, true}) {
      const std::string pattern(big ? be : le, 4);
      for (size_t pos = bytes.find(pattern); pos != std::string::npos; pos = bytes.find(pattern, pos + 1)) {
        found.push_back({pos, tag[0], tag[1], big});
      }
    }
  }
  return found;
}

void put(std::string* bytes, size_t at, uint32_t value, int width, bool big_endian) {
  for (int i = 0; i < width && at + i < bytes->size(); ++i) {
    const int shift = 8 * (big_endian ? width - 1 - i : i);
    (*bytes)[at + i] = static_cast<char>((value >> shift) & 0xFF);
  }
}

void corrupt(std::string* bytes, Rng& rng) {
  if (bytes->empty()) return;
  const std::vector<TagAt> tags = find_tags(*bytes);
  std::vector<TagAt> pixel_module;  // the US attributes of group 0028
  for (const TagAt& t : tags) {
    if (t.group == 0x0028 && t.element != 0x0008 && t.element != 0x0004) pixel_module.push_back(t);
  }
  switch (rng.below(9)) {
    case 0:  // bit flips anywhere
      for (uint64_t k = 0, n = 1 + rng.below(8); k < n; ++k) {
        (*bytes)[rng.below(bytes->size())] ^= static_cast<char>(1 << rng.below(8));
      }
      break;
    case 1:  // truncate
      bytes->resize(rng.below(bytes->size()));
      break;
    case 2:  // insert random bytes
      bytes->insert(rng.below(bytes->size() + 1), std::string(1 + rng.below(16), static_cast<char>(rng.below(256))));
      break;
    case 3:  // delete a range
      bytes->erase(rng.below(bytes->size()), 1 + rng.below(64));
      break;
    case 4: {  // garbage bytes in the header (before the pixel data, where structure lives)
      size_t end = bytes->find(std::string("\xE0\x7F\x10\x00", 4));
      if (end == std::string::npos) end = bytes->find(std::string("\x7F\xE0\x00\x10", 4));
      end = std::min(end, bytes->size());
      for (uint64_t k = 0, n = 1 + rng.below(4); k < n && end > 128; ++k) {
        (*bytes)[128 + rng.below(end - 128)] = static_cast<char>(rng.below(256));
      }
      break;
    }
    case 5: {  // a length field (explicit VR: +6 short or +8 long; implicit VR and items: +4)
      if (tags.empty()) break;
      const TagAt& t = tags[rng.below(tags.size())];
      static const int kOffsets[] = {4, 6, 8};
      const int offset = kOffsets[rng.below(3)];
      put(bytes, t.pos + offset, rng.interesting(), offset == 6 ? 2 : 4, t.big_endian);
      break;
    }
    case 6:
    case 7:  // Rows, Columns, BitsAllocated, ...: garbage values (at +8 in every VR form)
      for (uint64_t k = 0, n = 1 + rng.below(3); k < n && !pixel_module.empty(); ++k) {
        const TagAt& t = pixel_module[rng.below(pixel_module.size())];
        put(bytes, t.pos + 8, rng.interesting(), 2, t.big_endian);
      }
      break;
    default:  // NumberOfFrames (IS): other digits, a sign or a space
      for (const TagAt& t : tags) {
        if (t.group != 0x0028 || t.element != 0x0008) continue;
        static const char kChars[] = "0123456789999-+ ";
        for (size_t at = t.pos + 8; at < t.pos + 12 && at < bytes->size(); ++at) {
          if (rng.below(2) == 0) (*bytes)[at] = kChars[rng.below(sizeof kChars - 1)];
        }
      }
  }
}

// A decoded image must be internally consistent, whatever the header claimed.
void expect_consistent(const Image& image, const std::string& path) {
  ASSERT_GT(image.rows, 0) << path;
  ASSERT_GT(image.cols, 0) << path;
  ASSERT_GE(image.frames, 1) << path;
  ASSERT_LE(image.frames, image.frames_in_file) << path;
  ASSERT_TRUE(image.samples_per_pixel == 1 || image.samples_per_pixel == 3) << path;
  ASSERT_EQ(image.pixels.size(), image.frame_size() * image.frames) << path;
  for (float p : image.pixels) ASSERT_TRUE(std::isfinite(p)) << path;
}

TEST(DicomFuzz, ThousandsOfCorruptedFilesNeverCrashTheReader) {
  const std::string dir = testing::temp_dir();
  const std::vector<std::string> seeds = seed_files(dir);
  ASSERT_EQ(seeds.size(), 15u);
  for (const std::string& seed : seeds) ASSERT_GT(seed.size(), 132u);
  auto env_or = [](const char* name, uint64_t fallback) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
  };
  Rng rng(env_or("RADFLOW_DICOM_FUZZ_SEED", 20240604));
  const int rounds = static_cast<int>(env_or("RADFLOW_DICOM_FUZZ_ROUNDS", 3600));
  const std::string target = dir + "/fuzzed.dcm";
  int decoded = 0, rejected = 0;
  for (int round = 0; round < rounds; ++round) {
    std::string bytes = seeds[static_cast<size_t>(round) % seeds.size()];
    for (uint64_t k = 0, n = 1 + rng.below(3); k < n; ++k) corrupt(&bytes, rng);
    std::ofstream(target, std::ios::binary | std::ios::trunc) << bytes;
    const FrameSelection frames = rng.below(3) == 0 ? FrameSelection::kAll : FrameSelection::kFirst;
    Result<Image> image = read_dicom(target, frames);
    if (image.ok()) {
      ++decoded;
      expect_consistent(*image, target);
    } else {
      ++rejected;
      EXPECT_EQ(image.status().code(), "image_error") << image.status().to_string();
      EXPECT_EQ(image.status().err().path, target);
    }
    if (::testing::Test::HasFatalFailure()) FAIL() << "round " << round;
  }
  std::cout << "dicom fuzz: " << rounds << " corrupted files, " << decoded << " decoded, " << rejected
            << " rejected\n";
  EXPECT_GT(rejected, rounds / 4);  // the corruptions mostly break the file...
  EXPECT_GT(decoded, rounds / 20);  // ...but many (pixel bytes) leave a decodable one
}

}  // namespace
}  // namespace radflow::ml
