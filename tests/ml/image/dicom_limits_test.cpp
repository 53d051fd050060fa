// A header that claims far more pixels than the file holds is refused before anything
// is allocated for them (the fuzz test found the 65535 x 32768 x 3-frame RLE case that
// used to end in std::bad_alloc), and each refusal says why.
#include <gtest/gtest.h>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>

#include <fstream>
#include <functional>

#include "plugins/ml/image/dicom_pixel_module.h"
#include "plugins/ml/image/dicom_reader.h"
#include "tests/ml/image/test_dicom.h"

namespace radflow::ml {
namespace {

using testing::Syntax;
using testing::TestImage;

// A valid 3-frame 16x16 8-bit file in `syntax`, then its header edited by `edit` and
// saved again in the same syntax (compressed pixel data is kept as it was).
std::string tampered(Syntax syntax, const std::function<void(DcmDataset*)>& edit) {
  TestImage im;
  im.rows = im.cols = 16;
  im.frames = 3;
  im.bits_allocated = im.bits_stored = 8;
  im.high_bit = 7;
  im.values = testing::pattern(im);
  const std::string dir = testing::temp_dir();
  EXPECT_EQ(testing::write_dicom(im, syntax, dir + "/valid.dcm"), "");
  DcmFileFormat file;
  EXPECT_TRUE(file.loadFile((dir + "/valid.dcm").c_str()).good());
  const E_TransferSyntax xfer = file.getDataset()->getOriginalXfer();
  edit(file.getDataset());
  const std::string path = dir + "/tampered.dcm";
  EXPECT_TRUE(file.saveFile(path.c_str(), xfer).good());
  return path;
}

void expect_refused(const std::string& path, FrameSelection frames, const std::string& reason) {
  Result<Image> image = read_dicom(path, frames);
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), "image_error");
  EXPECT_NE(image.status().message().find(reason), std::string::npos) << image.status().message();
}

TEST(DicomLimitsTest, GigapixelFrameIsRefused) {
  for (Syntax syntax : {Syntax::kRle, Syntax::kExplicitLittle, Syntax::kJ2kLossless}) {
    const std::string path = tampered(syntax, [](DcmDataset* ds) {
      ds->putAndInsertUint16(DCM_Rows, 65535);
      ds->putAndInsertUint16(DCM_Columns, 32768);
    });
    expect_refused(path, FrameSelection::kFirst, "image too large");
  }
}

TEST(DicomLimitsTest, CompressedSizeMustBePlausible) {
  // 65535 x 4000 x 3 frames of 8 bits is 786 MB from ~1 KB of RLE.
  const std::string path = tampered(Syntax::kRle, [](DcmDataset* ds) {
    ds->putAndInsertUint16(DCM_Rows, 65535);
    ds->putAndInsertUint16(DCM_Columns, 4000);
  });
  expect_refused(path, FrameSelection::kAll, "compressed bytes are present");
  expect_refused(path, FrameSelection::kFirst, "compressed bytes are present");
}

TEST(DicomLimitsTest, MoreFramesThanFragmentsOrBytes) {
  for (Syntax syntax : {Syntax::kRle, Syntax::kJpegLossless, Syntax::kJ2kLossless}) {
    const std::string path = tampered(syntax, [](DcmDataset* ds) {
      ds->putAndInsertString(DCM_NumberOfFrames, "2000000000");
    });
    expect_refused(path, FrameSelection::kAll, "fragments");
    expect_refused(path, FrameSelection::kFirst, "fragments");
  }
  const std::string native = tampered(Syntax::kExplicitLittle, [](DcmDataset* ds) {
    ds->putAndInsertString(DCM_NumberOfFrames, "2000000000");
  });
  expect_refused(native, FrameSelection::kAll, "truncated");
  expect_refused(native, FrameSelection::kFirst, "truncated");
}

// The JPEG 2000 codestream's own size must match the header (checked on the codestream
// header, before OpenJPEG allocates the image).
TEST(DicomLimitsTest, Jpeg2000SizeMismatchIsRefused) {
  const std::string path = tampered(Syntax::kJ2kLossless, [](DcmDataset* ds) {
    ds->putAndInsertUint16(DCM_Rows, 8);
  });
  expect_refused(path, FrameSelection::kFirst, "JPEG 2000 frame is 16x16x1 but the header says 16x8x1");
}

// DCMTK 3.6.7's RLE decoder reads past the fragment when a segment offset points
// outside it (a segfault the fuzz test found); the reader checks the RLE header first.
TEST(DicomLimitsTest, DamagedRleSegmentOffsetIsRefused) {
  TestImage im;
  im.rows = im.cols = 16;
  im.values = testing::pattern(im);  // 16-bit: two segments per frame
  const std::string dir = testing::temp_dir();
  ASSERT_EQ(testing::write_dicom(im, Syntax::kRle, dir + "/rle.dcm"), "");
  std::ifstream in(dir + "/rle.dcm", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  // Pixel data (explicit VR LE: tag, OB, 2 reserved, undefined length), then the
  // offset table item, then the frame's item (tag, length) holding the RLE header.
  const size_t pixel_data = bytes.find(std::string("\xE0\x7F\x10\x00OB", 6));
  ASSERT_NE(pixel_data, std::string::npos);
  const size_t table = pixel_data + 12;
  const size_t table_length = static_cast<uint8_t>(bytes[table + 4]) | static_cast<uint8_t>(bytes[table + 5]) << 8;
  const size_t header = table + 8 + table_length + 8;
  ASSERT_EQ(bytes[header], 2);          // segments
  ASSERT_EQ(bytes[header + 4], 64);     // first segment right after the header
  bytes[header + 10] = 0x08;            // second segment offset += 0x80000
  std::ofstream(dir + "/damaged.dcm", std::ios::binary) << bytes;
  expect_refused(dir + "/damaged.dcm", FrameSelection::kFirst, "RLE fragment 1: segment 1 offset");
}

// A damaged VR makes DCMTK parse the pixel data as another element class; the reader
// used to cast it to DcmPixelData regardless (UBSan found it in the fuzz test).
TEST(DicomLimitsTest, PixelDataWithDamagedVrIsRefused) {
  TestImage im;
  im.bits_allocated = im.bits_stored = 8;
  im.high_bit = 7;
  im.values = testing::pattern(im);
  const std::string dir = testing::temp_dir();
  ASSERT_EQ(testing::write_dicom(im, Syntax::kExplicitLittle, dir + "/valid.dcm"), "");
  std::ifstream in(dir + "/valid.dcm", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const size_t pixel_data = bytes.find(std::string("\xE0\x7F\x10\x00O", 5));
  ASSERT_NE(pixel_data, std::string::npos);
  bytes[pixel_data + 5] = 'C';  // "OC": no such VR; DCMTK reads a 4-byte length as for OB
  std::ofstream(dir + "/damaged.dcm", std::ios::binary) << bytes;
  expect_refused(dir + "/damaged.dcm", FrameSelection::kFirst, "pixel data has an invalid VR");
}

// Even when a (huge) file holds them, one read decodes at most kMaxDecodedSamples.
TEST(DicomLimitsTest, TotalDecodedSamplesAreCapped) {
  PixelModule pm;
  pm.rows = pm.cols = 16384;
  pm.bits_allocated = pm.bits_stored = 8;
  pm.high_bit = 7;
  pm.frames = 3;
  const uint64_t all_bytes = pm.frame_bytes() * 3;
  EXPECT_TRUE(check_pixel_data_size(pm, 1, false, all_bytes, 0, "f.dcm").ok());
  Status status = check_pixel_data_size(pm, 3, false, all_bytes, 0, "f.dcm");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("too many pixels"), std::string::npos) << status.message();
}

TEST(DicomLimitsTest, LimitsLeaveRoomForRealImages) {
  // A 4096 x 5120 mammogram and a 96-frame 512 x 512 angiogram are well inside.
  EXPECT_GT(kMaxFrameSamples, uint64_t{4096} * 5120);
  EXPECT_GT(kMaxDecodedSamples, uint64_t{96} * 512 * 512);
  EXPECT_GE(kSmallDecodeBytes, uint64_t{4096} * 4096 * 2);
}

}  // namespace
}  // namespace radflow::ml
