#include "plugins/ml/image/dicom_reader.h"

#include <gtest/gtest.h>

#include "tests/ml/image/test_dicom.h"

namespace radflow::ml {
namespace {

using testing::Syntax;
using testing::TestImage;

std::vector<float> expected_values(const TestImage& im, int frames) {
  const double slope = im.slope.value_or(1.0), intercept = im.intercept.value_or(0.0);
  const size_t n = static_cast<size_t>(frames) * im.rows * im.cols * im.samples;
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(im.values[i] * slope + intercept);
  return out;
}

class TransferSyntaxTest : public ::testing::TestWithParam<Syntax> {};

// A signed 16-bit CT-like image with a rescale decodes to the same values in every
// transfer syntax, and the reader reports which syntax it was.
TEST_P(TransferSyntaxTest, Signed16WithRescaleDecodesIdentically) {
  TestImage im;
  im.is_signed = true;
  im.slope = 2.0;
  im.intercept = -1024.0;
  im.values = testing::pattern(im);
  const std::string path = testing::temp_dir() + "/image.dcm";
  ASSERT_EQ(testing::write_dicom(im, GetParam(), path), "");

  Result<Image> image = read_dicom(path);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->rows, 10);
  EXPECT_EQ(image->cols, 12);
  EXPECT_EQ(image->frames, 1);
  EXPECT_EQ(image->bits_stored, 16);
  EXPECT_TRUE(image->pixel_signed);
  EXPECT_EQ(image->modality, "CT");
  EXPECT_EQ(image->photometric, "MONOCHROME2");
  EXPECT_EQ(image->transfer_syntax_uid, testing::syntax_uid(GetParam()));
  EXPECT_FALSE(image->transfer_syntax_name.empty());
  EXPECT_DOUBLE_EQ(image->rescale_slope, 2.0);
  EXPECT_DOUBLE_EQ(image->rescale_intercept, -1024.0);
  EXPECT_EQ(image->pixels, expected_values(im, 1));
  EXPECT_FLOAT_EQ(image->pixels[0], -32768.0f * 2 - 1024);  // most negative stored value
}

// Unsigned 12-bit in 16, and 8-bit, through every syntax as well.
TEST_P(TransferSyntaxTest, Unsigned12And8BitDecodeIdentically) {
  for (int bits : {12, 8}) {
    TestImage im;
    im.bits_allocated = bits == 8 ? 8 : 16;
    im.bits_stored = bits;
    im.high_bit = bits - 1;
    im.values = testing::pattern(im);
    const std::string path = testing::temp_dir() + "/image.dcm";
    ASSERT_EQ(testing::write_dicom(im, GetParam(), path), "") << bits;
    Result<Image> image = read_dicom(path);
    ASSERT_TRUE(image.ok()) << image.status().to_string();
    EXPECT_FALSE(image->pixel_signed);
    EXPECT_EQ(image->bits_stored, bits);
    EXPECT_EQ(image->pixels, expected_values(im, 1)) << bits << " bits";
  }
}

// Multi-frame files: the first frame by default, all frames when asked (compressed
// syntaxes decode frame by frame).
TEST_P(TransferSyntaxTest, MultiFrameFirstOrAll) {
  TestImage im;
  im.frames = 3;
  im.values = testing::pattern(im);
  const std::string path = testing::temp_dir() + "/frames.dcm";
  ASSERT_EQ(testing::write_dicom(im, GetParam(), path), "");

  Result<Image> first = read_dicom(path, FrameSelection::kFirst);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ(first->frames, 1);
  EXPECT_EQ(first->frames_in_file, 3);
  EXPECT_EQ(first->pixels, expected_values(im, 1));

  Result<Image> all = read_dicom(path, FrameSelection::kAll);
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  EXPECT_EQ(all->frames, 3);
  EXPECT_EQ(all->pixels, expected_values(im, 3));
  EXPECT_EQ(all->frame_pixels(2), std::vector<float>(all->pixels.end() - 120, all->pixels.end()));
}

// RGB 8-bit: interleaved output whatever the syntax (RLE decodes colour by plane).
// Not JPEG-LS: DCMTK 3.6.7's JPEG-LS encoder (the fixture) rejects RGB.
class ColourSyntaxTest : public ::testing::TestWithParam<Syntax> {};

TEST_P(ColourSyntaxTest, Rgb8Interleaved) {
  TestImage im;
  im.samples = 3;
  im.bits_allocated = 8;
  im.bits_stored = 8;
  im.high_bit = 7;
  im.photometric = "RGB";
  im.values = testing::pattern(im);
  const std::string path = testing::temp_dir() + "/rgb.dcm";
  ASSERT_EQ(testing::write_dicom(im, GetParam(), path), "");
  Result<Image> image = read_dicom(path);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->samples_per_pixel, 3);
  EXPECT_EQ(image->photometric, "RGB");
  EXPECT_EQ(image->pixels, expected_values(im, 1));
}

INSTANTIATE_TEST_SUITE_P(AllSyntaxes, TransferSyntaxTest,
                         ::testing::Values(Syntax::kExplicitLittle, Syntax::kImplicitLittle,
                                           Syntax::kExplicitBig, Syntax::kDeflated, Syntax::kRle,
                                           Syntax::kJpegLsLossless, Syntax::kJpegLossless,
                                           Syntax::kJ2kLossless),
                         [](const ::testing::TestParamInfo<Syntax>& info) {
                           return std::string(testing::syntax_name(info.param));
                         });

INSTANTIATE_TEST_SUITE_P(ColourSyntaxes, ColourSyntaxTest,
                         ::testing::Values(Syntax::kExplicitLittle, Syntax::kImplicitLittle,
                                           Syntax::kExplicitBig, Syntax::kDeflated, Syntax::kRle,
                                           Syntax::kJpegLossless, Syntax::kJ2kLossless),
                         [](const ::testing::TestParamInfo<Syntax>& info) {
                           return std::string(testing::syntax_name(info.param));
                         });

TEST(DicomReaderTest, PlanarConfigurationOneIsInterleaved) {
  TestImage im;
  im.rows = 2;
  im.cols = 2;
  im.samples = 3;
  im.bits_allocated = im.bits_stored = 8;
  im.high_bit = 7;
  im.photometric = "RGB";
  im.planar = 1;
  im.values = {1, 2, 3, 4, 10, 20, 30, 40, 100, 110, 120, 130};  // R plane, G plane, B plane
  const std::string path = testing::temp_dir() + "/planar.dcm";
  ASSERT_EQ(testing::write_dicom(im, Syntax::kExplicitLittle, path), "");
  Result<Image> image = read_dicom(path);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->pixels, (std::vector<float>{1, 10, 100, 2, 20, 110, 3, 30, 120, 4, 40, 130}));
}

TEST(DicomReaderTest, BitsAboveHighBitAreIgnoredAndSignExtended) {
  TestImage im;
  im.rows = 1;
  im.cols = 3;
  im.bits_stored = 12;
  im.high_bit = 11;
  im.is_signed = true;
  // Overlay-style garbage in bits 12-15; 0x0800 is -2048 and 0x0FFF is -1 in 12 bits.
  im.values = {0xF800, 0xA7FF, 0x5FFF};
  const std::string path = testing::temp_dir() + "/bits.dcm";
  ASSERT_EQ(testing::write_dicom(im, Syntax::kExplicitLittle, path), "");
  Result<Image> image = read_dicom(path);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->pixels, (std::vector<float>{-2048, 2047, -1}));
}

// PS3.5 A.4.4: PixelRepresentation, not the J2K codestream, says whether samples are
// signed. pydicom reads such a file by the header (the codestream's bits reinterpreted
// at its precision); so must we, both ways round.
TEST(DicomReaderTest, J2kCodestreamSignednessContradictingPixelRepresentationFollowsTheHeader) {
  for (const bool header_signed : {true, false}) {
    TestImage im;
    im.rows = 4;
    im.cols = 5;
    im.bits_stored = 13;
    im.high_bit = 12;
    im.is_signed = header_signed;
    im.codestream_signed = !header_signed;
    std::vector<float> expected;
    for (int i = 0; i < 20; ++i) {
      // The bit pattern v (13 bits) as the codestream stores it, and as the header reads it.
      const int32_t v = (i * 419 + 6192) % 8192;
      const int32_t as_codestream = im.codestream_signed.value() && v >= 4096 ? v - 8192 : v;
      const int32_t as_header = header_signed && v >= 4096 ? v - 8192 : v;
      im.values.push_back(as_codestream);
      expected.push_back(static_cast<float>(as_header));
    }
    im.values[0] = im.codestream_signed.value() ? -2000 : 6192;  // the mismatch file's background
    expected[0] = header_signed ? -2000.0f : 6192.0f;
    const std::string path = testing::temp_dir() + "/mismatch" + std::to_string(header_signed) + ".dcm";
    ASSERT_EQ(testing::write_dicom(im, Syntax::kJ2kLossless, path), "");
    Result<Image> image = read_dicom(path);
    ASSERT_TRUE(image.ok()) << image.status().to_string();
    EXPECT_EQ(image->pixel_signed, header_signed);
    EXPECT_EQ(image->pixels, expected) << "header signed: " << header_signed;
  }
}

TEST(DicomReaderTest, Monochrome1AndWindowAreReportedNotApplied) {
  TestImage im;
  im.rows = 1;
  im.cols = 2;
  im.bits_allocated = im.bits_stored = 8;
  im.high_bit = 7;
  im.photometric = "MONOCHROME1";
  im.modality = "CR";
  im.window_center = 100;
  im.window_width = 50;
  im.values = {0, 200};
  const std::string path = testing::temp_dir() + "/mono1.dcm";
  ASSERT_EQ(testing::write_dicom(im, Syntax::kExplicitLittle, path), "");
  Result<Image> image = read_dicom(path);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_TRUE(image->is_monochrome1());
  EXPECT_EQ(image->modality, "CR");
  ASSERT_TRUE(image->window_center && image->window_width);
  EXPECT_DOUBLE_EQ(*image->window_center, 100);
  EXPECT_DOUBLE_EQ(*image->window_width, 50);
  EXPECT_EQ(image->pixels, (std::vector<float>{0, 200}));
}

}  // namespace
}  // namespace radflow::ml
