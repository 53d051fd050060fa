// Separable bicubic resampling in float32, PIL's kernel (Resample.c: a = -0.5, widened
// by the scale when shrinking, i.e. antialiased; torch's interpolate(bicubic,
// antialias=True) uses the same weights). Internal to plugins/ml/image: the building
// block of resize_bicubic and rad_dino_input (rad_dino_preprocess.h).
//
// resample_window computes only a window of the output (the part a centre crop keeps)
// and asks for each source row it needs exactly once, through a callback that may map
// the samples on the way (the VOI window, the modality LUT): no full-frame copy is made.
// The vertical pass runs first, over contiguous rows (it vectorises); the horizontal
// pass then runs over the few rows that survive. PIL runs them the other way round;
// in float32 the two orders differ by rounding only (~1e-7).
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace radflow::ml {

// PIL's weights along one axis for the outputs [begin, end) of an in_size -> out_size
// resize, in double and normalised, as Resample.c's precompute_coeffs computes them
// (also for in_size == out_size). Output i reads inputs first[i - begin] ..
// + count[i - begin] - 1; its weights start at weights[(i - begin) * stride] and are
// zero past its count. Preconditions: 0 < in_size, 0 < out_size, 0 <= begin <= end <=
// out_size.
struct BicubicCoefficients {
  int stride = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<double> weights;
};
BicubicCoefficients pil_bicubic_coefficients(int in_size, int out_size, int begin, int end);

// The same weights in float for the float passes below, stride rounded up to a
// multiple of 8; the identity (stride 1) when in_size == out_size (as PIL, which skips
// the pass).
struct ResampleTaps {
  int in_size = 0, out_size = 0;
  int begin = 0, end = 0;
  int stride = 0;
  bool identity = false;  // in_size == out_size: output i is input i
  std::vector<int> first;
  std::vector<int> count;
  std::vector<float> weights;

  // The inputs [input_begin(), input_end()) hold every tap of these outputs.
  int input_begin() const { return first.empty() ? 0 : first.front(); }
  int input_end() const;
};

ResampleTaps bicubic_taps(int in_size, int out_size, int begin, int end);

// Fills `scratch` with source row `row`, samples [col_begin, col_end) (col = column *
// channels + sample), and returns it; or returns a pointer to those samples held
// elsewhere (then scratch is unused). Called once per source row, rows in increasing
// order; the pointer must stay valid until resample_window returns.
using RowSource = std::function<const float*(int row, size_t col_begin, size_t col_end, float* scratch)>;

// Receives output row `row` (rows.begin <= row < rows.end) as (cols.end - cols.begin) *
// channels interleaved samples; the pointer is valid during the call only.
using RowSink = std::function<void(int row, const float* samples)>;

// Resamples an image of rows.in_size x cols.in_size x channels to the window
// [rows.begin, rows.end) x [cols.begin, cols.end) of the output.
void resample_window(const ResampleTaps& rows, const ResampleTaps& cols, int channels, const RowSource& source,
                     const RowSink& sink);

}  // namespace radflow::ml
