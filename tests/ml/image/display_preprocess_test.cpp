// Display windowing and the RAD-DINO preprocessing against hand-computed values.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include "plugins/ml/image/display.h"
#include "plugins/ml/image/rad_dino_preprocess.h"

namespace radflow::ml {
namespace {

DisplayOptions options(DisplayRange range, std::optional<double> center = {},
                       std::optional<double> width = {}) {
  DisplayOptions o;
  o.range = range;
  o.window_center = center;
  o.window_width = width;
  return o;
}

Image gray(int rows, int cols, std::vector<float> pixels) {
  Image im;
  im.rows = rows;
  im.cols = cols;
  im.frames = im.frames_in_file = 1;
  im.bits_stored = 8;
  im.photometric = "MONOCHROME2";
  im.pixels = std::move(pixels);
  return im;
}

TEST(DisplayTest, DicomLinearWindow) {
  // center 100, width 51: [74.5, 124.5] maps to [0, 1] per PS3.3 C.11.2.1.2.1.
  EXPECT_EQ(apply_window(74.5, 100, 51), 0.0);
  EXPECT_EQ(apply_window(125, 100, 51), 1.0);
  EXPECT_DOUBLE_EQ(apply_window(99.5, 100, 51), 0.5);
  EXPECT_DOUBLE_EQ(apply_window(109.5, 100, 51), 0.7);
}

TEST(DisplayTest, FileWindowOverrideAndFallbacks) {
  Image im = gray(1, 3, {0, 100, 200});
  // PNG/JPEG without window: x / 255, never stretched to the image's own range.
  std::vector<float> v = display_frame(im);
  EXPECT_EQ(v, (std::vector<float>{0.0f, static_cast<float>(100 / 255.0), static_cast<float>(200 / 255.0)}));
  im.bits_stored = 16;
  EXPECT_EQ(display_frame(im)[2], static_cast<float>(200 / 65535.0));
  im.bits_stored = 8;
  im.transfer_syntax_uid = "1.2.840.10008.1.2.1";  // a DICOM without VOI window: min-max
  v = display_frame(im);
  EXPECT_EQ(v, (std::vector<float>{0.0f, 0.5f, 1.0f}));
  im.window_center = 100.5;
  im.window_width = 101;  // [50, 150]
  v = display_frame(im);
  EXPECT_EQ(v, (std::vector<float>{0.0f, 0.5f, 1.0f}));
  EXPECT_FLOAT_EQ(display_frame(im, 0, options(DisplayRange::kWindow, 0.5, 401))[1], 0.75f);
  EXPECT_FLOAT_EQ(display_frame(im, 0, options(DisplayRange::kBitDepth))[1], 100.0f / 255.0f);
}

TEST(DisplayTest, Monochrome1IsInverted) {
  Image im = gray(1, 3, {0, 50, 200});
  im.photometric = "MONOCHROME1";
  im.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  EXPECT_EQ(display_frame(im), (std::vector<float>{1.0f, 0.75f, 0.0f}));
  DisplayOptions keep;
  keep.invert_monochrome1 = false;
  EXPECT_EQ(display_frame(im, 0, keep), (std::vector<float>{0.0f, 0.25f, 1.0f}));
}

TEST(DisplayTest, BitDepthRangeOfSignedRescaledImage) {
  Image im = gray(1, 2, {-1024.0f, 1023.0f * 2 - 1024});
  im.bits_stored = 11;
  im.pixel_signed = true;
  im.rescale_slope = 2;
  im.rescale_intercept = -1024;
  // stored -1024..1023 -> modality -3072..1022
  const std::vector<float> v = display_frame(im, 0, options(DisplayRange::kBitDepth));
  EXPECT_FLOAT_EQ(v[0], 2048.0f / 4094.0f);
  EXPECT_FLOAT_EQ(v[1], 1.0f);
}

TEST(RadDinoPreprocessTest, ShortestEdgeSizeTruncatesLongSide) {
  EXPECT_EQ(shortest_edge_size(1000, 800, 518), std::make_pair(647, 518));
  EXPECT_EQ(shortest_edge_size(800, 1000, 518), std::make_pair(518, 647));
  EXPECT_EQ(shortest_edge_size(518, 518, 518), std::make_pair(518, 518));
}

TEST(RadDinoPreprocessTest, AntialiasedBicubicShrinkMatchesPilWeights) {
  // 4 -> 2 (scale 2): the kernel is widened to support 4. For output 0 (centre 1.0)
  // the taps are x = 0..3 at distances -0.25, 0.25, 0.75, 1.25 (in input pixels / 2):
  // weights 0.8671875, 0.8671875, 0.2265625, -0.0703125, sum 1.890625.
  const std::vector<float> out = resize_bicubic({0, 1, 2, 3}, 1, 4, 1, 1, 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0], 1.109375 / 1.890625, 1e-6);
  EXPECT_NEAR(out[1], 3.0 - 1.109375 / 1.890625, 1e-6);
  // Same size is a copy; constant images stay constant (weights are normalised).
  EXPECT_EQ(resize_bicubic({1, 2, 3}, 1, 3, 1, 1, 3), (std::vector<float>{1, 2, 3}));
  const std::vector<float> flat = resize_bicubic(std::vector<float>(35 * 3, 0.25f), 5, 7, 3, 3, 4);
  for (float v : flat) EXPECT_NEAR(v, 0.25f, 1e-6);
}

TEST(RadDinoPreprocessTest, CropNormaliseAndGrayToThreeChannels) {
  // 2 x 4, shortest edge 2: no resize; crop 2 x 2 takes columns 1 and 2.
  const std::vector<float> values = {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f};
  RadDinoPreprocessOptions opts;
  opts.shortest_edge = 2;
  opts.crop_size = 2;
  const std::vector<float> out = rad_dino_preprocess(values, 2, 4, 1, opts);
  ASSERT_EQ(out.size(), 12u);
  const float expected[] = {0.1f, 0.2f, 0.5f, 0.6f};
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(out[c * 4 + i], (expected[i] - 0.5307f) / 0.2583f, 1e-6) << c << "," << i;
    }
  }
  EXPECT_FLOAT_EQ(RadDinoPreprocessOptions{}.mean, 0.5307f);
  EXPECT_FLOAT_EQ(RadDinoPreprocessOptions{}.std, 0.2583f);
  EXPECT_EQ(RadDinoPreprocessOptions{}.shortest_edge, 518);
}

TEST(RadDinoPreprocessTest, ShrinkThenCropAndClip) {
  // 2 x 8 ramp to shortest edge 1: 1 x 4 (vertical average of equal rows), then the
  // centre 1 x 1 crop takes output column 1. Values are clipped to [0, 1] first.
  std::vector<float> ramp(16);
  for (int i = 0; i < 16; ++i) ramp[i] = static_cast<float>(i % 8) / 7.0f;
  RadDinoPreprocessOptions opts;
  opts.shortest_edge = 1;
  opts.crop_size = 1;
  const std::vector<float> out = rad_dino_preprocess(ramp, 2, 8, 1, opts);
  const std::vector<float> row = resize_bicubic(ramp, 2, 8, 1, 1, 4);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_NEAR(out[0], (std::clamp(row[1], 0.0f, 1.0f) - 0.5307f) / 0.2583f, 1e-6);
  EXPECT_EQ(out[0], out[2]);
}

TEST(RadDinoPreprocessTest, CenterCropPadsSmallImages) {
  const std::vector<float> out = center_crop(std::vector<float>{1, 2}, 1, 2, 1, 3, 4);
  EXPECT_EQ(out, (std::vector<float>{0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0}));
}

}  // namespace
}  // namespace radflow::ml
