// PNG/JPEG reading and the PNG/NPY writers, round-tripped through libpng/libjpeg.
#include <gtest/gtest.h>
#include <png.h>

#include <cstdio>
#include <cstring>
#include <fstream>
// jpeglib.h needs FILE declared first.
#include <jpeglib.h>

#include "plugins/ml/image/image_reader.h"
#include "plugins/ml/image/image_writer.h"
#include "tests/ml/image/test_dicom.h"

namespace radflow::ml {
namespace {

TEST(RasterIoTest, Png8BitGrayAndRgb) {
  const std::string dir = testing::temp_dir();
  for (int channels : {1, 3}) {
    png_image desc{};
    desc.version = PNG_IMAGE_VERSION;
    desc.width = 5;
    desc.height = 3;
    desc.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    std::vector<png_byte> bytes(5 * 3 * channels);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<png_byte>(i * 17 % 256);
    const std::string path = dir + "/eight" + std::to_string(channels) + ".png";
    ASSERT_TRUE(png_image_write_to_file(&desc, path.c_str(), 0, bytes.data(), 0, nullptr));

    Result<Image> image = read_image(path);
    ASSERT_TRUE(image.ok()) << image.status().to_string();
    EXPECT_EQ(image->rows, 3);
    EXPECT_EQ(image->cols, 5);
    EXPECT_EQ(image->samples_per_pixel, channels);
    EXPECT_EQ(image->bits_stored, 8);
    EXPECT_EQ(image->photometric, channels == 1 ? "MONOCHROME2" : "RGB");
    EXPECT_EQ(image->transfer_syntax_name, "PNG");
    EXPECT_EQ(image->pixels, std::vector<float>(bytes.begin(), bytes.end()));
  }
}

TEST(RasterIoTest, Png16BitRoundTrip) {
  const std::string dir = testing::temp_dir();
  const std::vector<float> values = {0.0f, 1.0f, 0.5f, 1.0f / 65535, -3.0f, 7.0f};  // last two clamp
  ASSERT_TRUE(write_png16(dir + "/x.png", values, 2, 3, 1).ok());
  Result<Image> image = read_image(dir + "/x.png");
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->bits_stored, 16);
  EXPECT_EQ(image->rows, 2);
  EXPECT_EQ(image->cols, 3);
  EXPECT_EQ(image->pixels, (std::vector<float>{0, 65535, 32768, 1, 0, 65535}));
}

TEST(RasterIoTest, JpegGray8) {
  const std::string dir = testing::temp_dir();
  const std::string path = dir + "/flat.jpg";
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = 16;
  cinfo.image_height = 8;
  cinfo.input_components = 1;
  cinfo.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 100, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<JSAMPLE> row(16, 77);  // flat: lossless even through the DCT
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::fclose(f);

  Result<Image> image = read_image(path);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_EQ(image->rows, 8);
  EXPECT_EQ(image->cols, 16);
  EXPECT_EQ(image->samples_per_pixel, 1);
  EXPECT_EQ(image->transfer_syntax_name, "JPEG");
  EXPECT_EQ(image->pixels, std::vector<float>(128, 77.0f));
}

TEST(RasterIoTest, NpyHeaderAndData) {
  const std::string path = testing::temp_dir() + "/x.npy";
  ASSERT_TRUE(write_npy(path, {1.5f, -2.0f, 3.0f, 4.0f, 5.0f, 6.0f}, {2, 3}).ok());
  std::ifstream in(path, std::ios::binary);
  const std::string bytes(std::istreambuf_iterator<char>(in), {});
  ASSERT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_len = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  EXPECT_EQ((10 + header_len) % 64, 0u);
  const std::string header = bytes.substr(10, header_len);
  EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0), 0u) << header;
  EXPECT_EQ(header.back(), '\n');
  ASSERT_EQ(bytes.size(), 10 + header_len + 24);
  float first = 0;
  std::memcpy(&first, bytes.data() + 10 + header_len, 4);
  EXPECT_EQ(first, 1.5f);
}

}  // namespace
}  // namespace radflow::ml
