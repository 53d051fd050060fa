// ridge_regression(): the continuous-target probe of demographic-correlation (age,
// BMI, any numeric record field) on frozen features, in closed form.
//
// Features are standardised with the train split's mean and std (as linear_probe
// does), the target centred on its train mean; for each penalty alpha the weights
// minimise ||y - Xw||^2 + alpha ||w||^2, solved through one SVD of the train matrix
// (w = V diag(s / (s^2 + alpha)) U^T y), in float64. The alpha with the lowest
// validation mean squared error (equivalently the highest validation R²) is kept;
// without at least two validation targets the first alpha stands.
//
// Pure function of its inputs; runs on the calling thread with LibTorch's intra-op
// threads.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "common/status.h"

namespace radflow::ml::demographic {

struct RidgeResult {
  double alpha = 0;     // chosen on val
  double val_r2 = 0;    // at that alpha; NaN without a usable val split
  std::vector<double> test_predictions;  // one per test row
};

// x_*: [N, D] features (any float type); y_*: one target per row, all finite.
// Errors: "empty_split" when train has fewer than two rows, "shape_mismatch" when
// rows and targets disagree, "invalid_param" for an empty or non-positive alpha list.
Result<RidgeResult> ridge_regression(const torch::Tensor& x_train, const std::vector<double>& y_train,
                                     const torch::Tensor& x_val, const std::vector<double>& y_val,
                                     const torch::Tensor& x_test, const std::vector<double>& alphas);

}  // namespace radflow::ml::demographic
