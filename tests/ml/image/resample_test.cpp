// The float32 resize (resample.h) and the fused RAD-DINO preprocessing against a
// reference written here the plain way: PIL's resize in double (horizontal pass over
// every row, then vertical), a full-frame clamp, crop and normalise. The code under
// test computes only the window the crop keeps, picks its pass order by cost and maps
// the source rows as it reads them; none of that may change a value beyond float
// rounding, and rad_dino_input must equal rad_dino_preprocess(display_frame(image)).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "plugins/ml/image/display.h"
#include "plugins/ml/image/rad_dino_preprocess.h"
#include "plugins/ml/image/resample.h"

namespace radflow::ml {
namespace {

double reference_kernel(double x) {
  x = std::fabs(x);
  if (x < 1.0) return (1.5 * x - 2.5) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * -0.5;
  return 0.0;
}

// out[o] = sum of in(i) over PIL's taps of o (Resample.c, precompute_coeffs).
template <typename Get>
double reference_sample(int in_size, int out_size, int o, Get in) {
  if (in_size == out_size) return in(o);
  const double scale = static_cast<double>(in_size) / out_size, filter = std::max(scale, 1.0);
  const double center = (o + 0.5) * scale, support = 2.0 * filter;
  const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
  const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
  double sum = 0, total = 0;
  for (int i = lo; i < hi; ++i) {
    const double w = reference_kernel((i - center + 0.5) / filter);
    sum += w * in(i);
    total += w;
  }
  return sum / total;
}

std::vector<double> reference_resize(const std::vector<float>& in, int rows, int cols, int ch, int out_rows,
                                     int out_cols) {
  std::vector<double> mid(static_cast<size_t>(rows) * out_cols * ch), out(static_cast<size_t>(out_rows) * out_cols * ch);
  for (int r = 0; r < rows; ++r)
    for (int x = 0; x < out_cols; ++x)
      for (int c = 0; c < ch; ++c)
        mid[(static_cast<size_t>(r) * out_cols + x) * ch + c] =
            reference_sample(cols, out_cols, x, [&](int i) { return in[(static_cast<size_t>(r) * cols + i) * ch + c]; });
  for (int y = 0; y < out_rows; ++y)
    for (int x = 0; x < out_cols; ++x)
      for (int c = 0; c < ch; ++c)
        out[(static_cast<size_t>(y) * out_cols + x) * ch + c] =
            reference_sample(rows, out_rows, y, [&](int i) { return mid[(static_cast<size_t>(i) * out_cols + x) * ch + c]; });
  return out;
}

// Resize to the shortest edge, clamp, centre crop (zero padded), normalise, 3 planes.
std::vector<double> reference_preprocess(const std::vector<float>& in, int rows, int cols, int ch,
                                         const RadDinoPreprocessOptions& o) {
  const auto [rr, rc] = shortest_edge_size(rows, cols, o.shortest_edge);
  const std::vector<double> resized = reference_resize(in, rows, cols, ch, rr, rc);
  const int crop = o.crop_size;
  const int top = rr >= crop ? (rr - crop) / 2 : -((crop - rr) / 2);
  const int left = rc >= crop ? (rc - crop) / 2 : -((crop - rc) / 2);
  std::vector<double> out(3 * static_cast<size_t>(crop) * crop);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < crop; ++y)
      for (int x = 0; x < crop; ++x) {
        const int sy = y + top, sx = x + left;
        double v = 0;
        if (sy >= 0 && sy < rr && sx >= 0 && sx < rc) {
          v = std::clamp(resized[(static_cast<size_t>(sy) * rc + sx) * ch + (ch == 1 ? 0 : c)], 0.0, 1.0);
        }
        out[(static_cast<size_t>(c) * crop + y) * crop + x] = (v - o.mean) / o.std;
      }
  return out;
}

std::vector<float> noise(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = unit(gen);
  return v;
}

double max_difference(const std::vector<float>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
  return worst;
}

struct Shape {
  int rows, cols, channels, out_rows, out_cols;
};

TEST(ResampleTest, FloatResizeMatchesDoubleReferenceInEveryDirection) {
  const Shape shapes[] = {
      {97, 131, 1, 20, 27},   // shrink both (vertical pass first)
      {7, 9, 1, 40, 52},      // enlarge both (horizontal pass first)
      {60, 5, 1, 13, 33},     // shrink rows, enlarge columns
      {5, 60, 3, 33, 13},     // the other way, colour
      {31, 44, 3, 31, 17},    // rows unchanged
      {31, 44, 1, 12, 44},    // columns unchanged
      {1, 50, 1, 1, 8},       // one row
      {50, 1, 3, 9, 4},       // one column, colour
  };
  uint32_t seed = 1;
  for (const Shape& s : shapes) {
    SCOPED_TRACE(::testing::Message() << s.rows << "x" << s.cols << "x" << s.channels << " -> " << s.out_rows << "x"
                                      << s.out_cols);
    const std::vector<float> in = noise(static_cast<size_t>(s.rows) * s.cols * s.channels, seed++);
    const std::vector<float> got = resize_bicubic(in, s.rows, s.cols, s.channels, s.out_rows, s.out_cols);
    EXPECT_LT(max_difference(got, reference_resize(in, s.rows, s.cols, s.channels, s.out_rows, s.out_cols)), 2e-6);
  }
}

TEST(ResampleTest, TapsCoverPilsSupportAndSumToOne) {
  const ResampleTaps t = bicubic_taps(2500, 632, 57, 575);
  const int pil_ksize = 2 * static_cast<int>(std::ceil(2.0 * 2500 / 632)) + 1;  // 17
  EXPECT_EQ(t.stride, 24);  // rounded up to whole vectors of 8
  ASSERT_EQ(t.first.size(), 518u);
  for (size_t o = 0; o < t.first.size(); ++o) {
    EXPECT_LE(t.count[o], pil_ksize);
    double total = 0;
    for (int k = 0; k < t.stride; ++k) total += t.weights[o * t.stride + k];
    EXPECT_NEAR(total, 1.0, 1e-6) << o;
    if (o > 0) {
      EXPECT_GE(t.first[o], t.first[o - 1]);  // the ring in resample_window relies on it
    }
  }
  EXPECT_EQ(t.input_begin(), t.first.front());
  EXPECT_LE(t.input_end(), 2500);
  const ResampleTaps same = bicubic_taps(10, 10, 2, 5);
  EXPECT_TRUE(same.identity);
  EXPECT_EQ(same.first, (std::vector<int>{2, 3, 4}));
}

TEST(ResampleTest, PreprocessComputesOnlyTheCropButTheSameValues) {
  struct Case {
    int rows, cols, channels, shortest_edge, crop;
  };
  const Case cases[] = {
      {250, 204, 1, 52, 52},  // shrink, crop rows (the DX case at a tenth)
      {204, 250, 3, 52, 40},  // shrink, crop both, colour
      {8, 10, 1, 52, 52},     // enlarge, crop columns (the small test files)
      {6, 6, 3, 30, 36},      // enlarge, zero padding around
      {40, 52, 1, 40, 36},    // no resize, crop only
  };
  uint32_t seed = 20;
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.rows << "x" << c.cols << "x" << c.channels << " edge " << c.shortest_edge
                                      << " crop " << c.crop);
    RadDinoPreprocessOptions o;
    o.shortest_edge = c.shortest_edge;
    o.crop_size = c.crop;
    // Values beyond [0, 1] too: the clamp comes after the resize.
    std::vector<float> in = noise(static_cast<size_t>(c.rows) * c.cols * c.channels, seed++);
    for (float& v : in) v = v * 1.4f - 0.2f;
    const std::vector<float> got = rad_dino_preprocess(in, c.rows, c.cols, c.channels, o);
    // Normalised units: 1 / 0.2583 times the resize's rounding.
    EXPECT_LT(max_difference(got, reference_preprocess(in, c.rows, c.cols, c.channels, o)), 1e-5);
  }
}

Image dicom_like(int rows, int cols, const std::vector<float>& pixels) {
  Image im;
  im.rows = rows;
  im.cols = cols;
  im.frames = im.frames_in_file = 1;
  im.bits_allocated = 16;
  im.bits_stored = 12;
  im.photometric = "MONOCHROME1";
  im.transfer_syntax_uid = "1.2.840.10008.1.2.1";
  im.pixels = pixels;
  return im;
}

TEST(ResampleTest, RadDinoInputWindowsAsItReadsYetEqualsDisplayFrameThenPreprocess) {
  const int rows = 120, cols = 97;
  std::vector<float> pixels = noise(static_cast<size_t>(rows) * cols, 5);
  for (float& v : pixels) v = std::round(v * 4095.0f);
  RadDinoPreprocessOptions o;
  o.shortest_edge = o.crop_size = 40;
  Image im = dicom_like(rows, cols, pixels);
  im.window_center = 2000;
  im.window_width = 1800;  // clips at both ends
  for (bool window : {true, false}) {  // without a window: the frame's min-max
    SCOPED_TRACE(window ? "window" : "min-max");
    if (!window) im.window_center.reset(), im.window_width.reset();
    const std::vector<float> fused = rad_dino_input(im, o);
    const std::vector<float> unfused = rad_dino_preprocess(display_frame(im), rows, cols, 1, o);
    EXPECT_EQ(fused, unfused);
  }
}

TEST(ResampleTest, DisplayMapAgreesWithApplyWindow) {
  Image im = dicom_like(1, 4001, {});
  for (int i = 0; i <= 4000; ++i) im.pixels.push_back(static_cast<float>(i) - 0.25f * (i % 4));
  im.photometric = "MONOCHROME2";
  DisplayOptions o;
  for (double width : {1.0, 2.0, 255.0, 1001.0, 3600.0}) {
    o.window_center = 2000.5;
    o.window_width = width;
    const std::vector<float> v = display_frame(im, 0, o);
    for (size_t i = 0; i < v.size(); ++i) {
      ASSERT_FLOAT_EQ(v[i], static_cast<float>(apply_window(im.pixels[i], 2000.5, width))) << width << " " << i;
    }
  }
}

}  // namespace
}  // namespace radflow::ml
