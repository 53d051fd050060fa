// The encoder's input for 8-bit PNG and JPEG equals microsoft/rad-dino's processor:
// (x/255 - 0.5307) / 0.2583 on the decoded samples after the processor's resize and
// centre crop, compared bit for bit at the tensor level; 16-bit PNG is x / 65535 and a
// DICOM goes through its VOI window. The references are computed here from the decoded
// pixel values, not through the code under test.
#include <gtest/gtest.h>
#include <png.h>

#include <cstdio>
#include <cstring>
#include <random>
// jpeglib.h needs FILE declared first.
#include <jpeglib.h>

#include "plugins/ml/image/image_reader.h"
#include "plugins/ml/image/image_writer.h"
#include "plugins/ml/image/rad_dino_preprocess.h"
#include "tests/ml/image/test_dicom.h"

namespace radflow::ml {
namespace {

constexpr float kMean = 0.5307f, kStd = 0.2583f;

// transformers: rescale (float64 multiply by 1/255, stored float32), then normalize in float32.
float processor_value(double x, double scale = 1.0 / 255.0) {
  return (static_cast<float>(x * scale) - kMean) / kStd;
}

std::vector<uint8_t> noise_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(gen() & 0xFF);
  v[0] = 0;
  v[1] = 255;
  return v;
}

std::string write_png8(const std::string& path, const std::vector<uint8_t>& bytes, int rows, int cols, int channels) {
  png_image desc{};
  desc.version = PNG_IMAGE_VERSION;
  desc.width = static_cast<png_uint_32>(cols);
  desc.height = static_cast<png_uint_32>(rows);
  desc.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  return png_image_write_to_file(&desc, path.c_str(), 0, bytes.data(), 0, nullptr) ? path : "";
}

std::string write_jpeg(const std::string& path, const std::vector<uint8_t>& bytes, int rows, int cols) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return "";
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = static_cast<JDIMENSION>(cols);
  cinfo.image_height = static_cast<JDIMENSION>(rows);
  cinfo.input_components = 1;
  cinfo.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 85, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row[1] = {const_cast<JSAMPLE*>(bytes.data() + static_cast<size_t>(cinfo.next_scanline) * cols)};
    jpeg_write_scanlines(&cinfo, row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::fclose(f);
  return path;
}

RadDinoPreprocessOptions size(int shortest_edge, int crop) {
  RadDinoPreprocessOptions o;
  o.shortest_edge = shortest_edge;
  o.crop_size = crop;
  return o;
}

// Shortest edge already at the target: the processor's resize is the identity, so the
// tensor is the centre crop of (x/255 - mean)/std, channel c from sample c (gray: all).
void expect_crop_of_decoded(const Image& image, int crop) {
  const std::vector<float> out = rad_dino_input(image, size(std::min(image.rows, image.cols), crop));
  ASSERT_EQ(out.size(), 3u * crop * crop);
  const int top = (image.rows - crop) / 2, left = (image.cols - crop) / 2, spp = image.samples_per_pixel;
  size_t mismatches = 0;
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < crop; ++y) {
      for (int x = 0; x < crop; ++x) {
        const double v = image.pixels[((static_cast<size_t>(y + top)) * image.cols + x + left) * spp + (spp == 1 ? 0 : c)];
        const float want = processor_value(v);
        const float got = out[(static_cast<size_t>(c) * crop + y) * crop + x];
        mismatches += std::memcmp(&want, &got, sizeof got) != 0;
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << "elements that differ from (x/255 - 0.5307)/0.2583 bit for bit";
}

TEST(RadDinoInputTest, Png8BitGrayAndRgbAreXOver255BitForBit) {
  const std::string dir = testing::temp_dir();
  for (int channels : {1, 3}) {
    // Values 0..255 but a narrow-range image too: min-max stretching would show.
    std::vector<uint8_t> bytes = noise_bytes(40 * 52 * channels, 7 + channels);
    const std::string wide = write_png8(dir + "/wide" + std::to_string(channels) + ".png", bytes, 40, 52, channels);
    for (auto& b : bytes) b = static_cast<uint8_t>(100 + b % 20);
    const std::string narrow = write_png8(dir + "/narrow" + std::to_string(channels) + ".png", bytes, 40, 52, channels);
    for (const std::string& path : {wide, narrow}) {
      ASSERT_FALSE(path.empty());
      Result<Image> image = read_image(path);
      ASSERT_TRUE(image.ok()) << image.status().to_string();
      SCOPED_TRACE(path);
      expect_crop_of_decoded(*image, 40);  // 40 x 52 -> crop columns 6..45
      expect_crop_of_decoded(*image, 36);
    }
  }
}

TEST(RadDinoInputTest, Jpeg8BitIsXOver255BitForBit) {
  const std::string dir = testing::temp_dir();
  std::vector<uint8_t> bytes = noise_bytes(48 * 40, 3);
  for (auto& b : bytes) b = static_cast<uint8_t>(60 + b / 4);  // 60..123: no full range
  const std::string path = write_jpeg(dir + "/x.jpg", bytes, 48, 40);
  ASSERT_FALSE(path.empty());
  Result<Image> image = read_image(path);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  expect_crop_of_decoded(*image, 40);
}

TEST(RadDinoInputTest, ShrinkFollowsPilsEightBitResampling) {
  // 2 x 8 -> shortest edge 1 -> 1 x 4: PIL shrinks horizontally first (8 -> 4, scale 2)
  // and rounds to uint8, then vertically (2 -> 1). Output column 0 has centre 1.0 and
  // support 4: taps x = 0..4 (xmax = int(1 + 4 + 0.5)) at (x - 0.5) / 2 = -0.25, 0.25,
  // 0.75, 1.25, 1.75 -> PIL bicubic weights 0.8671875, 0.8671875, 0.2265625, -0.0703125,
  // -0.0234375. Fixed point: int(w / total * 2^22 +- 0.5), sums start at 2^21, >> 22.
  const std::vector<uint8_t> row = {10, 200, 30, 250, 0, 90, 180, 70};
  std::vector<uint8_t> two_rows = row;
  two_rows.insert(two_rows.end(), row.begin(), row.end());
  const double w[] = {0.8671875, 0.8671875, 0.2265625, -0.0703125, -0.0234375};
  double total = 0;
  for (double v : w) total += v;
  int64_t sum = int64_t{1} << 21;
  for (int x = 0; x < 5; ++x) {
    const double k = w[x] / total * (1 << 22);
    sum += static_cast<int64_t>(row[x]) * static_cast<int64_t>(k < 0 ? k - 0.5 : k + 0.5);
  }
  const int first = static_cast<int>(std::clamp<int64_t>(sum >> 22, 0, 255));
  const std::vector<uint8_t> resized = resize_bicubic_8bpc(two_rows, 2, 8, 1, 1, 4);
  ASSERT_EQ(resized.size(), 4u);
  EXPECT_EQ(resized[0], first);  // the vertical pass of two equal rows keeps the value
  const std::vector<float> out = rad_dino_preprocess_8bit(two_rows, 2, 8, 1, size(1, 1));
  ASSERT_EQ(out.size(), 3u);
  // Centre crop of 1 x 4 to 1 x 1 takes column (4 - 1) / 2 = 1.
  EXPECT_EQ(out[0], processor_value(resized[1]));
  EXPECT_EQ(out[0], out[2]);
}

TEST(RadDinoInputTest, Png16BitIsXOver65535AndDicomUsesItsWindow) {
  const std::string dir = testing::temp_dir();
  const std::vector<float> values = {0.25f, 0.5f, 0.3f, 0.35f};  // written as round(v * 65535)
  ASSERT_TRUE(write_png16(dir + "/x.png", values, 2, 2, 1).ok());
  Result<Image> png = read_image(dir + "/x.png");
  ASSERT_TRUE(png.ok());
  std::vector<float> out = rad_dino_input(*png, size(2, 2));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(out[i], (static_cast<float>(png->pixels[i] / 65535.0) - kMean) / kStd) << i;
  }
  testing::TestImage im;
  im.rows = im.cols = 2;
  im.bits_stored = 12;
  im.high_bit = 11;
  im.values = {1000, 2000, 3000, 4000};
  im.window_center = 2000.5;
  im.window_width = 2001;  // [1000, 3000] -> [0, 1]
  ASSERT_EQ(testing::write_dicom(im, testing::Syntax::kExplicitLittle, dir + "/x.dcm"), "");
  Result<Image> dcm = read_image(dir + "/x.dcm");
  ASSERT_TRUE(dcm.ok());
  out = rad_dino_input(*dcm, size(2, 2));
  EXPECT_EQ(out[0], (0.0f - kMean) / kStd);
  EXPECT_FLOAT_EQ(out[1], (0.5f - kMean) / kStd);
  EXPECT_EQ(out[3], (1.0f - kMean) / kStd);
}

}  // namespace
}  // namespace radflow::ml
