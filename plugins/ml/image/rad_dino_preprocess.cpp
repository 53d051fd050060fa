#include "plugins/ml/image/rad_dino_preprocess.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/check.h"
#include "plugins/ml/image/display.h"

namespace radflow::ml {
namespace {

// PIL's bicubic kernel (a = -0.5), support 2.
double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// Weights of one output sample along one axis, as PIL's precompute_coeffs.
struct Taps {
  int first = 0;
  std::vector<double> weights;
};

std::vector<Taps> resample_taps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);  // widen only when shrinking (antialias)
  const double support = 2.0 * filter_scale;
  std::vector<Taps> taps(out_size);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    // PIL truncates toward zero here, then clamps.
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size);
    Taps& t = taps[i];
    t.first = xmin;
    double total = 0;
    for (int x = xmin; x < xmax; ++x) {
      const double w = bicubic((x - center + 0.5) / filter_scale);
      t.weights.push_back(w);
      total += w;
    }
    if (total != 0) {
      for (double& w : t.weights) w /= total;
    }
  }
  return taps;
}

// PIL's fixed-point 8-bit resampling (Resample.c: normalize_coeffs_8bpc, clip8): the
// weights become integers with 22 fraction bits, sums start at one half, and every
// pass rounds back to uint8.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct IntTaps {
  int first = 0;
  std::vector<int32_t> weights;
};

std::vector<IntTaps> resample_taps_8bpc(int in_size, int out_size) {
  std::vector<IntTaps> out;
  for (const Taps& t : resample_taps(in_size, out_size)) {
    IntTaps it;
    it.first = t.first;
    for (double w : t.weights) {
      const double scaled = w * (1 << kPrecisionBits);
      it.weights.push_back(static_cast<int32_t>(w < 0 ? -0.5 + scaled : 0.5 + scaled));
    }
    out.push_back(std::move(it));
  }
  return out;
}

uint8_t clip8(int64_t sum) {
  if (sum >= (int64_t{1} << kPrecisionBits << 8)) return 255;
  if (sum <= 0) return 0;
  return static_cast<uint8_t>(sum >> kPrecisionBits);
}

// One PIL pass along rows (horizontal) or columns (vertical) of an interleaved image.
std::vector<uint8_t> resample_pass_8bpc(const std::vector<uint8_t>& in, int rows, int cols, int channels,
                                        int out_size, bool horizontal) {
  const std::vector<IntTaps> taps = resample_taps_8bpc(horizontal ? cols : rows, out_size);
  const int out_rows = horizontal ? rows : out_size, out_cols = horizontal ? out_size : cols;
  std::vector<uint8_t> out(static_cast<size_t>(out_rows) * out_cols * channels);
  for (int y = 0; y < out_rows; ++y) {
    for (int x = 0; x < out_cols; ++x) {
      const IntTaps& t = taps[horizontal ? x : y];
      for (int c = 0; c < channels; ++c) {
        int64_t sum = int64_t{1} << (kPrecisionBits - 1);
        for (size_t k = 0; k < t.weights.size(); ++k) {
          const size_t sy = horizontal ? y : t.first + k, sx = horizontal ? t.first + k : x;
          sum += static_cast<int64_t>(in[(sy * cols + sx) * channels + c]) * t.weights[k];
        }
        out[(static_cast<size_t>(y) * out_cols + x) * channels + c] = clip8(sum);
      }
    }
  }
  return out;
}

// Crop (zero padded), then (v - mean) / std in float32 into 3 channel planes, as the
// processor's center_crop, rescale and normalize.
template <typename T, typename ToUnit>
std::vector<float> crop_and_normalise(const std::vector<T>& resized, int rows, int cols, int channels,
                                      const RadDinoPreprocessOptions& options, ToUnit to_unit) {
  const int crop = options.crop_size;
  const std::vector<T> cropped = center_crop(resized, rows, cols, channels, crop, crop);
  const size_t plane = static_cast<size_t>(crop) * crop;
  std::vector<float> out(3 * plane);
  for (int c = 0; c < 3; ++c) {
    const int source = channels == 1 ? 0 : c;
    for (size_t i = 0; i < plane; ++i) {
      out[c * plane + i] = (to_unit(cropped[i * channels + source]) - options.mean) / options.std;
    }
  }
  return out;
}

}  // namespace

std::pair<int, int> shortest_edge_size(int rows, int cols, int shortest_edge) {
  RF_CHECK(rows > 0 && cols > 0 && shortest_edge > 0, "shortest_edge_size: sizes must be positive");
  if (rows <= cols) {
    return {shortest_edge, static_cast<int>(static_cast<double>(shortest_edge) * cols / rows)};
  }
  return {static_cast<int>(static_cast<double>(shortest_edge) * rows / cols), shortest_edge};
}

std::vector<float> resize_bicubic(const std::vector<float>& in, int rows, int cols, int channels,
                                  int out_rows, int out_cols) {
  RF_CHECK(in.size() == static_cast<size_t>(rows) * cols * channels, "resize_bicubic: size mismatch");
  if (rows == out_rows && cols == out_cols) return in;  // PIL returns a copy
  // Horizontal pass first, then vertical, as PIL.
  const std::vector<Taps> htaps = resample_taps(cols, out_cols);
  std::vector<double> mid(static_cast<size_t>(rows) * out_cols * channels, 0.0);
  for (int r = 0; r < rows; ++r) {
    for (int x = 0; x < out_cols; ++x) {
      const Taps& t = htaps[x];
      for (int c = 0; c < channels; ++c) {
        double sum = 0;
        for (size_t k = 0; k < t.weights.size(); ++k) {
          sum += t.weights[k] * in[(static_cast<size_t>(r) * cols + t.first + k) * channels + c];
        }
        mid[(static_cast<size_t>(r) * out_cols + x) * channels + c] = sum;
      }
    }
  }
  const std::vector<Taps> vtaps = resample_taps(rows, out_rows);
  std::vector<float> out(static_cast<size_t>(out_rows) * out_cols * channels);
  for (int y = 0; y < out_rows; ++y) {
    const Taps& t = vtaps[y];
    for (int x = 0; x < out_cols; ++x) {
      for (int c = 0; c < channels; ++c) {
        double sum = 0;
        for (size_t k = 0; k < t.weights.size(); ++k) {
          sum += t.weights[k] * mid[((t.first + k) * out_cols + x) * channels + c];
        }
        out[(static_cast<size_t>(y) * out_cols + x) * channels + c] = static_cast<float>(sum);
      }
    }
  }
  return out;
}

template <typename T>
std::vector<T> center_crop(const std::vector<T>& in, int rows, int cols, int channels, int out_rows,
                           int out_cols) {
  std::vector<T> out(static_cast<size_t>(out_rows) * out_cols * channels, T{0});
  // Negative offsets pad: the image is centred in the larger output.
  const int top = rows >= out_rows ? (rows - out_rows) / 2 : -((out_rows - rows) / 2);
  const int left = cols >= out_cols ? (cols - out_cols) / 2 : -((out_cols - cols) / 2);
  for (int y = 0; y < out_rows; ++y) {
    const int sy = y + top;
    if (sy < 0 || sy >= rows) continue;
    for (int x = 0; x < out_cols; ++x) {
      const int sx = x + left;
      if (sx < 0 || sx >= cols) continue;
      for (int c = 0; c < channels; ++c) {
        out[(static_cast<size_t>(y) * out_cols + x) * channels + c] =
            in[(static_cast<size_t>(sy) * cols + sx) * channels + c];
      }
    }
  }
  return out;
}
template std::vector<float> center_crop(const std::vector<float>&, int, int, int, int, int);
template std::vector<uint8_t> center_crop(const std::vector<uint8_t>&, int, int, int, int, int);

std::vector<uint8_t> resize_bicubic_8bpc(const std::vector<uint8_t>& in, int rows, int cols, int channels,
                                         int out_rows, int out_cols) {
  RF_CHECK(in.size() == static_cast<size_t>(rows) * cols * channels, "resize_bicubic_8bpc: size mismatch");
  std::vector<uint8_t> out = in;
  if (cols != out_cols) out = resample_pass_8bpc(out, rows, cols, channels, out_cols, /*horizontal=*/true);
  if (rows != out_rows) out = resample_pass_8bpc(out, rows, out_cols, channels, out_rows, /*horizontal=*/false);
  return out;
}

std::vector<float> rad_dino_preprocess(const std::vector<float>& values, int rows, int cols,
                                       int channels, const RadDinoPreprocessOptions& options) {
  RF_CHECK(channels == 1 || channels == 3, "rad_dino_preprocess: channels must be 1 or 3");
  const auto [rr, rc] = shortest_edge_size(rows, cols, options.shortest_edge);
  std::vector<float> resized = resize_bicubic(values, rows, cols, channels, rr, rc);
  // PIL clips to the pixel range after resampling; bicubic overshoots at edges.
  for (float& v : resized) v = std::clamp(v, 0.0f, 1.0f);
  return crop_and_normalise(resized, rr, rc, channels, options, [](float v) { return v; });
}

std::vector<float> rad_dino_preprocess_8bit(const std::vector<uint8_t>& values, int rows, int cols,
                                            int channels, const RadDinoPreprocessOptions& options) {
  RF_CHECK(channels == 1 || channels == 3, "rad_dino_preprocess_8bit: channels must be 1 or 3");
  const auto [rr, rc] = shortest_edge_size(rows, cols, options.shortest_edge);
  const std::vector<uint8_t> resized = resize_bicubic_8bpc(values, rows, cols, channels, rr, rc);
  // transformers' rescale: float64 multiply by 1/255, stored as float32.
  return crop_and_normalise(resized, rr, rc, channels, options,
                            [](uint8_t v) { return static_cast<float>(v * (1.0 / 255.0)); });
}

bool is_8bit_raster(const Image& image) {
  return image.transfer_syntax_uid.empty() && image.bits_stored == 8;
}

std::vector<float> rad_dino_input(const Image& image, const RadDinoPreprocessOptions& options) {
  const int channels = image.samples_per_pixel;
  if (is_8bit_raster(image)) {
    std::vector<uint8_t> values(image.frame_size());
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<uint8_t>(image.pixels[i]);
    return rad_dino_preprocess_8bit(values, image.rows, image.cols, channels, options);
  }
  return rad_dino_preprocess(display_frame(image, 0), image.rows, image.cols, channels, options);
}

}  // namespace radflow::ml
