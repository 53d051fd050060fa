#include "plugins/ml/image/rad_dino_preprocess.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/check.h"
#include "plugins/ml/image/display.h"
#include "plugins/ml/image/resample.h"

namespace radflow::ml {
namespace {

// PIL's fixed-point 8-bit resampling (Resample.c: normalize_coeffs_8bpc, clip8): the
// weights become integers with 22 fraction bits, sums start at one half, and every
// pass rounds back to uint8.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct IntTaps {
  int first = 0;
  std::vector<int32_t> weights;
};

std::vector<IntTaps> resample_taps_8bpc(int in_size, int out_size) {
  const BicubicCoefficients c = pil_bicubic_coefficients(in_size, out_size, 0, out_size);
  std::vector<IntTaps> out(out_size);
  for (int o = 0; o < out_size; ++o) {
    out[o].first = c.first[o];
    for (int k = 0; k < c.count[o]; ++k) {
      const double w = c.weights[static_cast<size_t>(o) * c.stride + k];
      const double scaled = w * (1 << kPrecisionBits);
      out[o].weights.push_back(static_cast<int32_t>(w < 0 ? -0.5 + scaled : 0.5 + scaled));
    }
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

// The rows of a rows x cols x channels image held in memory, read in place.
RowSource rows_of(const float* values, int cols, int channels) {
  const size_t row_width = static_cast<size_t>(cols) * channels;
  return [values, row_width](int r, size_t begin, size_t, float*) { return values + r * row_width + begin; };
}

// Resize to the shortest edge (resample.h), clamp to [0, 1] (PIL clips after
// resampling; bicubic overshoots at edges), centre crop, zero padded, and (v - mean) /
// std into 3 planes, grey computed once and copied. Only the output rows and columns
// the crop keeps are resampled.
std::vector<float> resize_crop_normalise(int rows, int cols, int channels, const RowSource& source,
                                         const RadDinoPreprocessOptions& options) {
  const auto [rr, rc] = shortest_edge_size(rows, cols, options.shortest_edge);
  const int crop = options.crop_size;
  RF_CHECK(crop > 0, "rad_dino_preprocess: crop_size must be positive");
  // Negative offsets pad: the image is centred in the larger output.
  const int top = rr >= crop ? (rr - crop) / 2 : -((crop - rr) / 2);
  const int left = rc >= crop ? (rc - crop) / 2 : -((crop - rc) / 2);
  const int y0 = std::max(top, 0), y1 = std::min(top + crop, rr);
  const int x0 = std::max(left, 0), x1 = std::min(left + crop, rc);
  const size_t plane = static_cast<size_t>(crop) * crop;
  const float mean = options.mean, stdev = options.std;
  std::vector<float> out(3 * plane, (0.0f - mean) / stdev);
  const int width = x1 - x0;
  resample_window(bicubic_taps(rows, rr, y0, y1), bicubic_taps(cols, rc, x0, x1), channels, source,
                  [&](int y, const float* s) {
                    const size_t at = static_cast<size_t>(y - top) * crop + (x0 - left);
                    for (int c = 0; c < channels; ++c) {
                      float* dst = out.data() + c * plane + at;
                      for (int x = 0; x < width; ++x) {
                        dst[x] = (std::clamp(s[x * channels + c], 0.0f, 1.0f) - mean) / stdev;
                      }
                    }
                  });
  if (channels == 1) {
    std::copy(out.begin(), out.begin() + plane, out.begin() + plane);
    std::copy(out.begin(), out.begin() + plane, out.begin() + 2 * plane);
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
  std::vector<float> out(static_cast<size_t>(out_rows) * out_cols * channels);
  const size_t out_width = static_cast<size_t>(out_cols) * channels;
  resample_window(bicubic_taps(rows, out_rows, 0, out_rows), bicubic_taps(cols, out_cols, 0, out_cols), channels,
                  rows_of(in.data(), cols, channels),
                  [&](int y, const float* s) { std::copy(s, s + out_width, out.begin() + y * out_width); });
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
  RF_CHECK(values.size() == static_cast<size_t>(rows) * cols * channels, "rad_dino_preprocess: size mismatch");
  return resize_crop_normalise(rows, cols, channels, rows_of(values.data(), cols, channels), options);
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
  RF_CHECK(channels == 1 || channels == 3, "rad_dino_input: channels must be 1 or 3");
  // rad_dino_preprocess(display_frame(image)), without the frame's copy: each source row
  // is windowed as the resize first reads it, and only the rows the crop keeps are read.
  const DisplayMap map(image, 0, DisplayOptions{});
  const float* pixels = image.pixels.data();
  const size_t row_width = static_cast<size_t>(image.cols) * channels;
  return resize_crop_normalise(
      image.rows, image.cols, channels,
      [&](int r, size_t begin, size_t end, float* scratch) {
        map.apply(pixels + r * row_width + begin, end - begin, scratch);
        return static_cast<const float*>(scratch);
      },
      options);
}

}  // namespace radflow::ml
