// Broken input: every failure is an "image_error" whose message names the file and
// says why; nothing throws or crashes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "plugins/ml/image/image_reader.h"
#include "plugins/ml/image/image_writer.h"
#include "tests/ml/image/test_dicom.h"

namespace radflow::ml {
namespace {

using testing::Syntax;
using testing::TestImage;
using testing::read_bytes;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void expect_error(const std::string& path, const std::string& reason_part) {
  Result<Image> image = read_image(path);
  ASSERT_FALSE(image.ok()) << path << " decoded";
  EXPECT_EQ(image.status().code(), "image_error");
  EXPECT_EQ(image.status().err().path, path);
  EXPECT_NE(image.status().message().find(path), std::string::npos) << image.status().message();
  EXPECT_NE(image.status().message().find(reason_part), std::string::npos) << image.status().message();
}

std::string valid_dicom(Syntax syntax, const std::string& dir) {
  TestImage im;
  im.rows = 32;
  im.cols = 32;
  im.values = testing::pattern(im);
  const std::string path = dir + "/valid.dcm";
  EXPECT_EQ(testing::write_dicom(im, syntax, path), "");
  return path;
}

TEST(ImageErrorsTest, MissingAndEmptyFiles) {
  const std::string dir = testing::temp_dir();
  expect_error(dir + "/absent.dcm", "cannot open");
  write_bytes(dir + "/empty.dcm", "");
  expect_error(dir + "/empty.dcm", "empty");
}

TEST(ImageErrorsTest, TruncatedNativeDicom) {
  const std::string dir = testing::temp_dir();
  const std::string bytes = read_bytes(valid_dicom(Syntax::kExplicitLittle, dir));
  write_bytes(dir + "/cut.dcm", bytes.substr(0, bytes.size() - 700));
  Result<Image> image = read_image(dir + "/cut.dcm");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().message().rfind(dir + "/cut.dcm: ", 0), 0u) << image.status().message();
}

TEST(ImageErrorsTest, TruncatedCompressedDicom) {
  for (Syntax syntax : {Syntax::kRle, Syntax::kJpegLsLossless, Syntax::kJpegLossless, Syntax::kJ2kLossless}) {
    const std::string dir = testing::temp_dir();
    const std::string bytes = read_bytes(valid_dicom(syntax, dir));
    write_bytes(dir + "/cut.dcm", bytes.substr(0, bytes.size() * 3 / 4));
    Result<Image> image = read_image(dir + "/cut.dcm");
    ASSERT_FALSE(image.ok()) << testing::syntax_name(syntax);
    EXPECT_EQ(image.status().message().rfind(dir + "/cut.dcm: ", 0), 0u) << image.status().message();
  }
}

TEST(ImageErrorsTest, CorruptJ2kCodestream) {
  const std::string dir = testing::temp_dir();
  std::string bytes = read_bytes(valid_dicom(Syntax::kJ2kLossless, dir));
  const size_t soc = bytes.find("\xFF\x4F\xFF\x51");
  ASSERT_NE(soc, std::string::npos);
  // Overwrite the SIZ marker segment: the codestream header becomes invalid.
  for (size_t i = soc + 4; i < soc + 40; ++i) bytes[i] = '\x7F';
  write_bytes(dir + "/bad.dcm", bytes);
  expect_error(dir + "/bad.dcm", "JPEG 2000");
}

TEST(ImageErrorsTest, NotAnImage) {
  const std::string dir = testing::temp_dir();
  write_bytes(dir + "/text.dcm", std::string(300, 'x'));
  Result<Image> image = read_image(dir + "/text.dcm");
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().message().rfind(dir + "/text.dcm: ", 0), 0u) << image.status().message();
}

TEST(ImageErrorsTest, UnsupportedTransferSyntaxAndBits) {
  const std::string dir = testing::temp_dir();
  // Relabel a JPEG-LS file (UID of the same length) as JPEG Extended Hierarchical (retired), which
  // has no decoder here.
  std::string bytes = read_bytes(valid_dicom(Syntax::kJpegLsLossless, dir));
  const std::string jpeg_ls = "1.2.840.10008.1.2.4.80";
  for (size_t at = bytes.find(jpeg_ls); at != std::string::npos; at = bytes.find(jpeg_ls, at + 1)) {
    bytes.replace(at, jpeg_ls.size(), "1.2.840.10008.1.2.4.60");
  }
  write_bytes(dir + "/mpeg.dcm", bytes);
  expect_error(dir + "/mpeg.dcm", "unsupported transfer syntax");

  TestImage one_bit;
  one_bit.bits_allocated = 1;
  one_bit.bits_stored = 1;
  one_bit.high_bit = 0;
  one_bit.rows = 8;
  one_bit.cols = 8;
  one_bit.bits_allocated = 8;  // written as bytes, then relabelled below
  one_bit.values.assign(64, 1);
  ASSERT_EQ(testing::write_dicom(one_bit, Syntax::kExplicitLittle, dir + "/ba8.dcm"), "");
  std::string ba = read_bytes(dir + "/ba8.dcm");
  // BitsAllocated (0028,0100) US 8 -> 1.
  const std::string tag("\x28\x00\x00\x01US\x02\x00\x08\x00", 10);
  const size_t pos = ba.find(tag);
  ASSERT_NE(pos, std::string::npos);
  ba[pos + 8] = 1;
  write_bytes(dir + "/ba1.dcm", ba);
  expect_error(dir + "/ba1.dcm", "unsupported BitsAllocated 1");
}

TEST(ImageErrorsTest, TruncatedAndCorruptPngAndJpeg) {
  const std::string dir = testing::temp_dir();
  std::vector<float> values(64 * 64);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 64) / 63.0f;
  ASSERT_TRUE(write_png16(dir + "/ok.png", values, 64, 64, 1).ok());
  const std::string png = read_bytes(dir + "/ok.png");
  write_bytes(dir + "/cut.png", png.substr(0, png.size() / 2));
  expect_error(dir + "/cut.png", "corrupt PNG");
  std::string bad = png;
  bad[40] ^= 0x55;  // inside IDAT: CRC mismatch
  write_bytes(dir + "/crc.png", bad);
  expect_error(dir + "/crc.png", "corrupt PNG");
  write_bytes(dir + "/cut.jpg", std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00", 11));
  expect_error(dir + "/cut.jpg", "JPEG");
}

}  // namespace
}  // namespace radflow::ml
