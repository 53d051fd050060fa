#include "plugins/demographic-correlation/ridge_regression.h"

#include <cmath>
#include <limits>
#include <string>

#include "plugins/ml/metrics/regression.h"

namespace radflow::ml::demographic {
namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

Result<RidgeResult> ridge_regression(const torch::Tensor& x_train, const std::vector<double>& y_train,
                                     const torch::Tensor& x_val, const std::vector<double>& y_val,
                                     const torch::Tensor& x_test, const std::vector<double>& alphas) {
  if (alphas.empty()) return Status::error("invalid_param", "no ridge penalty (alphas) to try");
  for (double a : alphas) {
    if (!(a > 0)) return Status::error("invalid_param", "ridge penalties must be > 0, got " + std::to_string(a));
  }
  const std::pair<const char*, std::pair<const torch::Tensor*, size_t>> splits[] = {
      {"train", {&x_train, y_train.size()}}, {"val", {&x_val, y_val.size()}}, {"test", {&x_test, 0}}};
  for (const auto& [name, split] : splits) {
    const auto& [x, targets] = split;
    const bool is_test = std::string(name) == "test";
    if (!x->defined() || x->dim() != 2 || x->size(1) != x_train.size(1) ||
        (!is_test && x->size(0) != static_cast<int64_t>(targets))) {
      return Status::error("shape_mismatch", std::string("the ") + name +
                                                 " split's features and targets do not fit", name);
    }
  }
  if (x_train.size(0) < 2) {
    return Status::error("empty_split", "ridge regression needs at least two train rows", "train");
  }
  torch::NoGradGuard no_grad;
  const auto train = x_train.to(torch::kFloat64);
  const auto mean = train.mean(0, true);
  const auto std = train.std(0, true, true).clamp_min(1e-6);
  auto standardise = [&](const torch::Tensor& x) { return (x.to(torch::kFloat64) - mean) / std; };
  double y_mean = 0;
  for (double y : y_train) y_mean += y;
  y_mean /= static_cast<double>(y_train.size());
  auto y = torch::tensor(y_train, torch::kFloat64) - y_mean;

  auto [u, s, vh] = at::linalg_svd(standardise(train), /*full_matrices=*/false);
  const auto uty = torch::matmul(u.transpose(0, 1), y);
  const auto x_v = standardise(x_val);
  const auto x_t = standardise(x_test);
  auto weights_for = [&](double alpha) {
    return torch::matmul(vh.transpose(0, 1), s / (s * s + alpha) * uty);
  };

  RidgeResult result;
  result.alpha = alphas.front();
  result.val_r2 = std::numeric_limits<double>::quiet_NaN();
  if (y_val.size() >= 2) {
    double best_mse = std::numeric_limits<double>::infinity();
    for (double alpha : alphas) {
      const auto pred = to_vector(torch::matmul(x_v, weights_for(alpha)) + y_mean);
      double mse = 0;
      for (size_t i = 0; i < pred.size(); ++i) mse += (pred[i] - y_val[i]) * (pred[i] - y_val[i]);
      if (mse < best_mse) {  // ties keep the earlier (listed first) alpha
        best_mse = mse;
        result.alpha = alpha;
        result.val_r2 = metrics::r2(y_val, pred);
      }
    }
  }
  result.test_predictions = to_vector(torch::matmul(x_t, weights_for(result.alpha)) + y_mean);
  return result;
}

}  // namespace radflow::ml::demographic
