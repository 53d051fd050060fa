// synth-cxr has no histogram shortcuts: a linear model on global intensity statistics
// of each image as the encoder sees it (display values through the file's VOI window:
// mean, std, 5th/50th/95th percentiles) predicts no finding and not sex (AUROC near
// 0.5) and not age (R² near 0), under 5-fold cross-validation. Before the fixed VOI
// window and habitus-driven exposure, per-image min-max windows and demographic
// density changes gave AUROC about 0.8 for chest_tube, 0.73 for sex and R² about 0.4
// for age from these statistics alone. Plain C++ (no LibTorch; plugins/ml/metrics is
// built only with torch, so AUROC and R² are written out here).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "plugins/ml/data/manifest.h"
#include "plugins/ml/image/display.h"
#include "plugins/ml/image/image_reader.h"
#include "tests/data/image_statistics.h"
#include "tests/data/plugin_runner.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;
namespace data = radflow::ml::data;
using Matrix = std::vector<std::vector<double>>;

constexpr int kFolds = 5;

// Mann-Whitney AUROC with average ranks for ties.
double auroc(const std::vector<double>& scores, const std::vector<int>& labels) {
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0, positives = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]]) rank_sum += (i + j + 1) / 2.0, positives += 1;
    }
    i = j;
  }
  const double negatives = scores.size() - positives;
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

double r2(const std::vector<double>& y, const std::vector<double>& predicted) {
  double mean = 0, residual = 0, total = 0;
  for (double v : y) mean += v / y.size();
  for (size_t i = 0; i < y.size(); ++i) {
    residual += (y[i] - predicted[i]) * (y[i] - predicted[i]);
    total += (y[i] - mean) * (y[i] - mean);
  }
  return 1 - residual / total;
}

// Standardises columns with the training rows' mean and std, then appends a 1.
Matrix standardised(const Matrix& x, const std::vector<bool>& train) {
  const size_t d = x[0].size();
  std::vector<double> mean(d, 0), sd(d, 0);
  double n = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!train[i]) continue;
    n += 1;
    for (size_t j = 0; j < d; ++j) mean[j] += x[i][j];
  }
  for (double& m : mean) m /= n;
  for (size_t i = 0; i < x.size(); ++i) {
    if (train[i]) for (size_t j = 0; j < d; ++j) sd[j] += (x[i][j] - mean[j]) * (x[i][j] - mean[j]);
  }
  for (double& s : sd) s = std::sqrt(s / n) + 1e-12;
  Matrix out(x.size(), std::vector<double>(d + 1, 1.0));
  for (size_t i = 0; i < x.size(); ++i) {
    for (size_t j = 0; j < d; ++j) out[i][j] = (x[i][j] - mean[j]) / sd[j];
  }
  return out;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t j = 0; j < a.size(); ++j) s += a[j] * b[j];
  return s;
}

// Out-of-fold linear predictions dot(w, z) with w = fit(z, train) per fold.
template <typename Fit>
std::vector<double> cross_validated(const Matrix& x, Fit fit) {
  std::vector<double> out(x.size());
  for (int fold = 0; fold < kFolds; ++fold) {
    std::vector<bool> train(x.size());
    for (size_t i = 0; i < x.size(); ++i) train[i] = static_cast<int>(i % kFolds) != fold;
    const Matrix z = standardised(x, train);
    const std::vector<double> w = fit(z, train);
    for (size_t i = 0; i < z.size(); ++i) {
      if (!train[i]) out[i] = dot(w, z[i]);
    }
  }
  return out;
}

// L2-regularised logistic regression by full-batch gradient descent.
std::vector<double> logistic_cv(const Matrix& x, const std::vector<int>& y) {
  return cross_validated(x, [&y](const Matrix& z, const std::vector<bool>& train) {
    std::vector<double> w(z[0].size(), 0.0);
    for (int step = 0; step < 800; ++step) {
      std::vector<double> grad(w.size(), 0.0);
      double n = 0;
      for (size_t i = 0; i < z.size(); ++i) {
        if (!train[i]) continue;
        const double p = 1 / (1 + std::exp(-dot(w, z[i])));
        for (size_t j = 0; j < w.size(); ++j) grad[j] += (p - y[i]) * z[i][j];
        n += 1;
      }
      for (size_t j = 0; j < w.size(); ++j) w[j] -= 0.5 * (grad[j] / n + 1e-3 * w[j]);
    }
    return w;
  });
}

// Solves a small dense system by Gaussian elimination with partial pivoting.
std::vector<double> solve(Matrix a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t pivot = c;
    for (size_t r = c + 1; r < n; ++r) if (std::fabs(a[r][c]) > std::fabs(a[pivot][c])) pivot = r;
    std::swap(a[c], a[pivot]);
    std::swap(b[c], b[pivot]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t c = n; c-- > 0;) {
    double s = b[c];
    for (size_t k = c + 1; k < n; ++k) s -= a[c][k] * x[k];
    x[c] = s / a[c][c];
  }
  return x;
}

// Ridge regression in closed form (alpha 1, intercept not penalised).
std::vector<double> ridge_cv(const Matrix& x, const std::vector<double>& y) {
  return cross_validated(x, [&y](const Matrix& z, const std::vector<bool>& train) {
    const size_t d = z[0].size();
    Matrix a(d, std::vector<double>(d, 0.0));
    std::vector<double> b(d, 0.0);
    for (size_t i = 0; i < z.size(); ++i) {
      if (!train[i]) continue;
      for (size_t j = 0; j < d; ++j) {
        b[j] += z[i][j] * y[i];
        for (size_t k = 0; k < d; ++k) a[j][k] += z[i][j] * z[i][k];
      }
    }
    for (size_t j = 0; j + 1 < d; ++j) a[j][j] += 1.0;
    return solve(a, b);
  });
}

TEST(SynthCxrShortcuts, GlobalIntensityStatisticsPredictNoLabel) {
  std::string pattern = (fs::temp_directory_path() / "rf-shortcut-XXXXXX").string();
  const std::string dir = ::mkdtemp(pattern.data());
  const PluginRun run = run_plugin("synth-cxr", {{"seed", 2024}, {"count", 400}, {"image_size", 96}},
                                   nlohmann::json::object(), dir + "/out", dir + "/spec.json");
  ASSERT_EQ(run.exit_code, 0) << run.end.dump();
  auto manifest = data::read_manifest(dir + "/out/dataset/manifest.csv");
  ASSERT_TRUE(manifest.ok()) << manifest.status().to_string();
  Matrix features;
  for (const data::Record& r : manifest->records) {
    auto image = radflow::ml::read_image(manifest->resolve(r.path));
    ASSERT_TRUE(image.ok()) << image.status().to_string();
    features.push_back(global_statistics(radflow::ml::display_frame(*image)));
  }
  std::string report;
  for (const std::string& finding : manifest->findings()) {
    std::vector<int> y;
    for (const data::Record& r : manifest->records) y.push_back(r.labels.at(finding));
    const double auc = auroc(logistic_cv(features, y), y);
    report += finding + " AUROC " + std::to_string(auc) + "\n";
    EXPECT_LT(auc, 0.62) << finding;
  }
  std::vector<int> female;
  std::vector<double> age;
  for (const data::Record& r : manifest->records) {
    female.push_back(r.sex == "F");
    age.push_back(*r.age);
  }
  const double sex_auc = auroc(logistic_cv(features, female), female);
  const double age_r2 = r2(age, ridge_cv(features, age));
  report += "sex AUROC " + std::to_string(sex_auc) + "\nage R2 " + std::to_string(age_r2) + "\n";
  EXPECT_LT(sex_auc, 0.62);
  EXPECT_LT(age_r2, 0.1);
  std::cout << report;
  ::testing::Test::RecordProperty("shortcuts", report);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace radflow::test
