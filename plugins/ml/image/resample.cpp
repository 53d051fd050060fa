#include "plugins/ml/image/resample.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"

// The two loops below carry nearly all of a resize's arithmetic. On x86-64 they are
// built twice, for the baseline (SSE2) and for x86-64-v3 (AVX2 + FMA), and the loader
// picks one for the CPU it runs on.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RF_RESAMPLE_KERNEL __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define RF_RESAMPLE_KERNEL
#endif

namespace radflow::ml {
namespace {

// PIL's bicubic kernel (a = -0.5), support 2.
double bicubic_weight(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// acc[i] = sum_k weights[k] * rows[k][i]. Four taps per sweep over acc, so acc is
// loaded and stored a quarter as often.
RF_RESAMPLE_KERNEL
void weighted_row_sum(const float* const* rows, const float* weights, int count, size_t n,
                      float* __restrict acc) {
  int k = 0;
  if (count >= 2) {
    const float *r0 = rows[0], *r1 = rows[1];
    const float w0 = weights[0], w1 = weights[1];
    for (size_t i = 0; i < n; ++i) acc[i] = w0 * r0[i] + w1 * r1[i];
    k = 2;
  } else {
    const float* r0 = rows[0];
    const float w0 = weights[0];
    for (size_t i = 0; i < n; ++i) acc[i] = w0 * r0[i];
    k = 1;
  }
  for (; k + 4 <= count; k += 4) {
    const float *r0 = rows[k], *r1 = rows[k + 1], *r2 = rows[k + 2], *r3 = rows[k + 3];
    const float w0 = weights[k], w1 = weights[k + 1], w2 = weights[k + 2], w3 = weights[k + 3];
    for (size_t i = 0; i < n; ++i) acc[i] += (w0 * r0[i] + w1 * r1[i]) + (w2 * r2[i] + w3 * r3[i]);
  }
  for (; k < count; ++k) {
    const float* r0 = rows[k];
    const float w0 = weights[k];
    for (size_t i = 0; i < n; ++i) acc[i] += w0 * r0[i];
  }
}

// One row along its columns: out[(x - begin) * channels + c] for the outputs of `taps`;
// `in` starts at input column taps.input_begin(). Grey outputs whose `stride` taps lie
// inside the row run a fixed-length vector loop (the zero weights past their count
// cost less than a variable trip count); the last few, near the row's end, and colour
// run their count.
RF_RESAMPLE_KERNEL
void resample_row(const float* in, int channels, const ResampleTaps& taps, float* __restrict out) {
  const int base = taps.input_begin(), end = taps.input_end(), stride = taps.stride;
  const int outputs = taps.end - taps.begin;
  int o = 0;
  if (channels == 1) {
    // stride is a multiple of 8 (bicubic_taps): eight partial sums, one vector register.
    for (; o < outputs && taps.first[o] + stride <= end; ++o) {
      const float* w = taps.weights.data() + static_cast<size_t>(o) * stride;
      const float* s = in + (taps.first[o] - base);
      float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int k = 0; k < stride; k += 8) {
        for (int j = 0; j < 8; ++j) a[j] += w[k + j] * s[k + j];
      }
      out[o] = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
    }
  }
  for (; o < outputs; ++o) {
    const float* w = taps.weights.data() + static_cast<size_t>(o) * stride;
    const float* s = in + static_cast<size_t>(taps.first[o] - base) * channels;
    for (int c = 0; c < channels; ++c) {
      float sum = 0;
      for (int k = 0; k < taps.count[o]; ++k) sum += w[k] * s[k * channels + c];
      out[o * channels + c] = sum;
    }
  }
}

}  // namespace

int ResampleTaps::input_end() const {
  int last = 0;
  for (size_t i = 0; i < first.size(); ++i) last = std::max(last, first[i] + count[i]);
  return last;
}

BicubicCoefficients pil_bicubic_coefficients(int in_size, int out_size, int begin, int end) {
  RF_CHECK(in_size > 0 && out_size > 0 && 0 <= begin && begin <= end && end <= out_size,
           "pil_bicubic_coefficients: invalid sizes");
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);  // widen only when shrinking (antialias)
  const double support = 2.0 * filter_scale;
  BicubicCoefficients c;
  c.stride = static_cast<int>(std::ceil(support)) * 2 + 1;  // PIL's ksize: every output fits
  const int outputs = end - begin;
  c.first.resize(outputs);
  c.count.resize(outputs);
  c.weights.assign(static_cast<size_t>(outputs) * c.stride, 0.0);
  for (int o = 0; o < outputs; ++o) {
    const double center = (begin + o + 0.5) * scale;
    // PIL truncates toward zero here, then clamps.
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size);
    double* w = c.weights.data() + static_cast<size_t>(o) * c.stride;
    double total = 0;
    for (int x = xmin; x < xmax; ++x) total += w[x - xmin] = bicubic_weight((x - center + 0.5) / filter_scale);
    if (total != 0) {
      for (int x = xmin; x < xmax; ++x) w[x - xmin] /= total;
    }
    c.first[o] = xmin;
    c.count[o] = xmax - xmin;
  }
  return c;
}

ResampleTaps bicubic_taps(int in_size, int out_size, int begin, int end) {
  RF_CHECK(in_size > 0 && out_size > 0 && 0 <= begin && begin <= end && end <= out_size,
           "bicubic_taps: invalid sizes");
  ResampleTaps t;
  t.in_size = in_size;
  t.out_size = out_size;
  t.begin = begin;
  t.end = end;
  t.identity = in_size == out_size;
  if (t.identity) {
    t.stride = 1;
    for (int o = begin; o < end; ++o) t.first.push_back(o), t.count.push_back(1);
    t.weights.assign(end - begin, 1.0f);
    return t;
  }
  BicubicCoefficients c = pil_bicubic_coefficients(in_size, out_size, begin, end);
  // A multiple of 8, zero padded, so that resample_row's loop fills whole vectors.
  t.stride = (c.stride + 7) / 8 * 8;
  t.first = std::move(c.first);
  t.count = std::move(c.count);
  t.weights.assign(static_cast<size_t>(end - begin) * t.stride, 0.0f);
  for (int o = 0; o < end - begin; ++o) {
    for (int k = 0; k < t.count[o]; ++k) {
      t.weights[static_cast<size_t>(o) * t.stride + k] = static_cast<float>(c.weights[static_cast<size_t>(o) * c.stride + k]);
    }
  }
  return t;
}

void resample_window(const ResampleTaps& rows, const ResampleTaps& cols, int channels, const RowSource& source,
                     const RowSink& sink) {
  RF_CHECK(channels > 0, "resample_window: channels must be positive");
  if (rows.begin == rows.end || cols.begin == cols.end) return;
  const size_t col_begin = static_cast<size_t>(cols.input_begin()) * channels;
  const size_t col_end = static_cast<size_t>(cols.input_end()) * channels;
  const size_t in_width = col_end - col_begin;
  const size_t out_width = static_cast<size_t>(cols.end - cols.begin) * channels;
  const int out_rows = rows.end - rows.begin;
  // The vertical pass vectorises along a row and the horizontal one does not (taken
  // here as 4 times the cost per tap), so the order is the cheaper one: vertical first
  // when shrinking (the horizontal pass then sees only the output rows), horizontal
  // first when enlarging (it then sees only the few source rows).
  const double source_rows = rows.input_end() - rows.input_begin();
  const double horizontal_tap = 4.0 * cols.stride * double(out_width), vertical_tap = rows.stride;
  const bool horizontal_first =
      !cols.identity &&
      (rows.identity || source_rows * horizontal_tap + out_rows * vertical_tap * double(out_width) <
                            out_rows * vertical_tap * double(in_width) + out_rows * horizontal_tap);
  // Source rows, resampled along their columns first when horizontal_first, live in a
  // ring: output rows read nondecreasing windows of at most `stride` consecutive source
  // rows, so row r can take slot r % stride once it is loaded.
  const int ring = rows.stride;
  const size_t ring_width = horizontal_first ? out_width : in_width;
  std::vector<float> ring_rows(static_cast<size_t>(ring) * ring_width);
  std::vector<const float*> ring_ptr(ring, nullptr);
  std::vector<float> scratch(horizontal_first ? in_width : 0);
  std::vector<const float*> taps(ring);
  std::vector<float> vertical(rows.identity ? 0 : ring_width);
  std::vector<float> out(horizontal_first || cols.identity ? 0 : out_width);
  int next_row = rows.input_begin();
  for (int o = 0; o < out_rows; ++o) {
    const int first = rows.first[o], count = rows.count[o];
    for (; next_row < first + count; ++next_row) {
      float* slot = ring_rows.data() + static_cast<size_t>(next_row % ring) * ring_width;
      if (horizontal_first) {
        resample_row(source(next_row, col_begin, col_end, scratch.data()), channels, cols, slot);
        ring_ptr[next_row % ring] = slot;
      } else {
        ring_ptr[next_row % ring] = source(next_row, col_begin, col_end, slot);
      }
    }
    for (int k = 0; k < count; ++k) taps[k] = ring_ptr[(first + k) % ring];
    const float* row = taps[0];
    if (!rows.identity) {
      weighted_row_sum(taps.data(), rows.weights.data() + static_cast<size_t>(o) * rows.stride, count, ring_width,
                       vertical.data());
      row = vertical.data();
    }
    if (horizontal_first || cols.identity) {
      sink(rows.begin + o, row);
    } else {
      resample_row(row, channels, cols, out.data());
      sink(rows.begin + o, out.data());
    }
  }
}

}  // namespace radflow::ml
