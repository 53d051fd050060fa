// Real DICOM files from Debian's python3-pydicom 2.3.1 (installed by
// scripts/install-deps.sh): one MR slice in 7 transfer syntaxes, one RGB image in 3,
// a MONOCHROME1 CR and a deliberately corrupt JPEG 2000 file.
//
// Expected header values come from dcmdump 3.6.7 (dcmtk 3.6.7-9~deb12u4) run on these
// files. Expected pixel statistics were computed independently of our reader: each
// file decompressed with `gdcmconv --raw` (GDCM 3.0.21), then read with pydicom 2.3.1
// + numpy 1.24 (min, max, sum, sum of squares, position-weighted sum of the stored
// values, see real_dicom_data.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <ostream>

#include "plugins/ml/image/dicom_reader.h"
#include "tests/ml/image/real_dicom_data.h"

namespace radflow::ml {
namespace {

using testing::StoredStats;

// Reads a real file; fails the test (not skips) when install-deps has not run.
Result<Image> read_real(const std::string& path, FrameSelection frames = FrameSelection::kFirst) {
  const std::string missing = testing::missing_data_message(path);
  if (!missing.empty()) {
    ADD_FAILURE() << missing;
    return Status::error("missing_test_data", missing, path);
  }
  return read_dicom(path, frames);
}

struct SyntaxFile {
  const char* file;
  const char* uid;  // (0002,0010) as dcmdump reports it
};

// dcmdump: all 7 are MR, 64x64, BitsAllocated 16, BitsStored 16, HighBit 15,
// PixelRepresentation 1, MONOCHROME2, SamplesPerPixel 1, no rescale.
const SyntaxFile kMrSmall[] = {
    {"MR_small.dcm", "1.2.840.10008.1.2.1"},                 // explicit VR little endian
    {"MR_small_implicit.dcm", "1.2.840.10008.1.2"},          // implicit VR little endian
    {"MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"},       // explicit VR big endian
    {"MR_small_expb.dcm", "1.2.840.10008.1.2.2"},            // explicit VR big endian
    {"MR_small_RLE.dcm", "1.2.840.10008.1.2.5"},             // RLE lossless
    {"MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"},  // JPEG-LS lossless
    {"MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90"},      // JPEG 2000 lossless
};
// gtest names the parameter by its file, not its bytes.
void PrintTo(const SyntaxFile& f, std::ostream* os) { *os << f.file; }

// gdcmconv --raw + pydicom: identical for all 7 (PixelData md5 dc9943d2b303...).
const StoredStats kMrSmallStats{127, 2145, 2125338, 1788440652, 264991985};
const int64_t kMrSmallCentre = 182;  // stored value at row 32, column 32

class MrSmallFamilyTest : public ::testing::TestWithParam<SyntaxFile> {};

TEST_P(MrSmallFamilyTest, DecodesToTheIndependentlyComputedPixels) {
  const std::string path = testing::pydicom_dir() + "/" + GetParam().file;
  Result<Image> image = read_real(path);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->transfer_syntax_uid, GetParam().uid);
  EXPECT_EQ(image->rows, 64);
  EXPECT_EQ(image->cols, 64);
  EXPECT_EQ(image->frames, 1);
  EXPECT_EQ(image->samples_per_pixel, 1);
  EXPECT_EQ(image->bits_allocated, 16);
  EXPECT_EQ(image->bits_stored, 16);
  EXPECT_TRUE(image->pixel_signed);
  EXPECT_EQ(image->photometric, "MONOCHROME2");
  EXPECT_EQ(image->modality, "MR");
  EXPECT_DOUBLE_EQ(image->rescale_slope, 1.0);
  EXPECT_DOUBLE_EQ(image->rescale_intercept, 0.0);
  const std::vector<int64_t> stored = testing::stored_values(*image);
  EXPECT_EQ(testing::stored_stats(stored), kMrSmallStats) << testing::to_string(testing::stored_stats(stored));
  EXPECT_EQ(stored[32 * 64 + 32], kMrSmallCentre);
}

// Beyond equal statistics: every syntax gives exactly the explicit-LE file's pixels.
TEST_P(MrSmallFamilyTest, PixelsIdenticalToExplicitLittleEndian) {
  Result<Image> reference = read_real(testing::pydicom_dir() + "/MR_small.dcm");
  Result<Image> image = read_real(testing::pydicom_dir() + "/" + GetParam().file);
  ASSERT_TRUE(reference.ok() && image.ok());
  EXPECT_EQ(image->pixels, reference->pixels);
}

INSTANTIATE_TEST_SUITE_P(SevenSyntaxes, MrSmallFamilyTest, ::testing::ValuesIn(kMrSmall),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           name = name.substr(0, name.find('.'));
                           for (char& c : name) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

// dcmdump: OT, 100x100, SamplesPerPixel 3, RGB, PlanarConfiguration 0, 8/8/7, unsigned.
const SyntaxFile kScRgb[] = {
    {"SC_rgb_rle.dcm", "1.2.840.10008.1.2.5"},         // RLE lossless
    {"SC_rgb_jpeg_gdcm.dcm", "1.2.840.10008.1.2.4.70"},  // JPEG lossless SV1
    {"SC_rgb_gdcm_KY.dcm", "1.2.840.10008.1.2.4.91"},    // JPEG 2000 (lossless content)
};
// gdcmconv --raw + pydicom: identical for all 3 (md5 6e292886c679...).
const StoredStats kScRgbStats{0, 255, 3831000, 806409000, 481785150};

TEST(RealDicomTest, RgbGroupDecodesIdenticallyInThreeSyntaxes) {
  std::vector<float> first;
  for (const SyntaxFile& f : kScRgb) {
    Result<Image> image = read_real(testing::pydicom_dir() + "/" + f.file);
    ASSERT_TRUE(image.ok()) << image.status().to_string();
    EXPECT_EQ(image->transfer_syntax_uid, f.uid);
    EXPECT_EQ(image->rows, 100);
    EXPECT_EQ(image->cols, 100);
    EXPECT_EQ(image->samples_per_pixel, 3);
    EXPECT_EQ(image->bits_stored, 8);
    EXPECT_FALSE(image->pixel_signed);
    EXPECT_EQ(image->photometric, "RGB") << f.file;
    EXPECT_EQ(image->modality, "OT");
    const StoredStats stats = testing::stored_stats(testing::stored_values(*image));
    EXPECT_EQ(stats, kScRgbStats) << f.file << " " << testing::to_string(stats);
    if (first.empty()) {
      first = image->pixels;
    } else {
      EXPECT_EQ(image->pixels, first) << f.file;
    }
  }
}

// JPEG baseline stored as YBR_FULL comes out as RGB. Independent reference: gdcmconv
// --raw keeps YBR_FULL; pydicom's convert_color_space(YBR_FULL -> RGB) on it gives these.
TEST(RealDicomTest, JpegBaselineYbrFullDecodesToRgb) {
  Result<Image> image = read_real(testing::pydicom_dir() + "/SC_rgb_jpeg_dcmtk.dcm");
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->transfer_syntax_uid, "1.2.840.10008.1.2.4.50");  // dcmdump: JPEGBaseline, YBR_FULL
  EXPECT_EQ(image->photometric, "RGB");
  EXPECT_EQ(image->samples_per_pixel, 3);
  const StoredStats stats = testing::stored_stats(testing::stored_values(*image));
  EXPECT_EQ(stats, (StoredStats{0, 255, 3832000, 804107800, 481925584})) << testing::to_string(stats);
}

// 12-bit JPEG extended (process 4): JPEG-lossy.dcm has a bad SOS that JPGExtended.dcm
// fixes; both decode to the same pixels (dcmdump: NM, 1024x256, 16/12, unsigned).
TEST(RealDicomTest, Jpeg12BitExtendedToleratesBadSos) {
  const StoredStats expected{0, 264, 3767007, 176606059, 480211325};
  std::vector<float> first;
  for (const char* file : {"JPGExtended.dcm", "JPEG-lossy.dcm"}) {
    Result<Image> image = read_real(testing::pydicom_dir() + "/" + file);
    ASSERT_TRUE(image.ok()) << image.status().to_string();
    EXPECT_EQ(image->transfer_syntax_uid, "1.2.840.10008.1.2.4.51");
    EXPECT_EQ(image->rows, 1024);
    EXPECT_EQ(image->cols, 256);
    EXPECT_EQ(image->bits_stored, 12);
    const StoredStats stats = testing::stored_stats(testing::stored_values(*image));
    EXPECT_EQ(stats, expected) << file << " " << testing::to_string(stats);
    if (first.empty()) first = image->pixels;
    EXPECT_EQ(image->pixels, first) << file;
  }
}

// A real (downsampled) Agfa CR: MONOCHROME1 is reported, not inverted, and the
// rescale applied. dcmdump: CR, 16x16, 16/12/11, unsigned, MONOCHROME1,
// WindowCenter 1600, WindowWidth 2800, RescaleIntercept 200, RescaleSlope 0.684.
TEST(RealDicomTest, Monochrome1ComputedRadiography) {
  Result<Image> image = read_real(testing::pydicom_dir() + "/dicomdirtests/77654033/CR1/6154");
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->modality, "CR");
  EXPECT_EQ(image->photometric, "MONOCHROME1");
  EXPECT_TRUE(image->is_monochrome1());
  EXPECT_EQ(image->rows, 16);
  EXPECT_EQ(image->cols, 16);
  EXPECT_EQ(image->bits_stored, 12);
  EXPECT_FALSE(image->pixel_signed);
  EXPECT_DOUBLE_EQ(image->rescale_slope, 0.684);
  EXPECT_DOUBLE_EQ(image->rescale_intercept, 200.0);
  EXPECT_DOUBLE_EQ(image->window_center.value_or(0), 1600.0);
  EXPECT_DOUBLE_EQ(image->window_width.value_or(0), 2800.0);
  // gdcmconv --raw + pydicom (stored values; the modality LUT is undone for the check).
  const StoredStats expected{1994, 2802, 646091, 1635698157, 80979420};
  const StoredStats stats = testing::stored_stats(testing::stored_values(*image));
  EXPECT_EQ(stats, expected) << testing::to_string(stats);
  // The modality LUT itself: the largest stored value 2802 -> 2802 * 0.684 + 200.
  float max_pixel = image->pixels[0];
  for (float p : image->pixels) max_pixel = std::max(max_pixel, p);
  EXPECT_NEAR(max_pixel, 2802 * 0.684 + 200, 1e-3);
}

// pydicom's J2K_pixelrep_mismatch.dcm (CT, 512x512, BitsStored 13, PixelRepresentation 1)
// holds an unsigned precision-13 codestream; pydicom reads it by the header, and its
// tests expect the stored value -2000 (not 6192) at [0, 0].
TEST(RealDicomTest, Jpeg2000PixelRepresentationMismatchFollowsTheHeader) {
  Result<Image> image = read_real(testing::pydicom_dir() + "/J2K_pixelrep_mismatch.dcm");
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_TRUE(image->pixel_signed);
  EXPECT_EQ(image->pixels[0], static_cast<float>(-2000 * image->rescale_slope + image->rescale_intercept));
  EXPECT_LT(*std::min_element(image->pixels.begin(), image->pixels.end()), image->rescale_intercept);
}

// pydicom ships this file corrupt on purpose (a sequence delimiter inside the J2K
// fragment); GDCM cannot decode it either. We must fail cleanly with a reason, while
// its intact twin JPEG2000.dcm (NM, 1024x256, 16/16 signed, dcmdump) decodes.
TEST(RealDicomTest, CorruptJpeg2000GivesAClearError) {
  Result<Image> twin = read_real(testing::pydicom_dir() + "/JPEG2000.dcm");
  ASSERT_TRUE(twin.ok()) << twin.status().to_string();
  EXPECT_EQ(twin->rows, 1024);
  EXPECT_EQ(twin->cols, 256);
  EXPECT_TRUE(twin->pixel_signed);
  const StoredStats twin_stats = testing::stored_stats(testing::stored_values(*twin));
  EXPECT_EQ(twin_stats, (StoredStats{-30, 245, 3527976, 164034874, 448826792}))
      << testing::to_string(twin_stats);

  const std::string path = testing::pydicom_dir() + "/JPEG2000-embedded-sequence-delimiter.dcm";
  Result<Image> image = read_real(path);
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), "image_error");
  EXPECT_EQ(image.status().err().path, path);
  EXPECT_EQ(image.status().message().rfind(path + ": ", 0), 0u) << image.status().message();
  EXPECT_NE(image.status().message().find("JPEG 2000"), std::string::npos) << image.status().message();
}

}  // namespace
}  // namespace radflow::ml
