#include "plugins/ml/eval/linear_probe.h"

#include <cmath>
#include <limits>

#include "plugins/ml/metrics/auroc.h"
#include "plugins/ml/metrics/average_precision.h"

namespace radflow::ml::eval {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// The known (label != -1) samples of one finding as metric inputs.
void known_samples(const torch::Tensor& scores, const torch::Tensor& labels, int64_t finding,
                   std::vector<double>* out_scores, std::vector<int>* out_labels) {
  auto s = scores.accessor<float, 2>();
  auto y = labels.accessor<int64_t, 2>();
  for (int64_t i = 0; i < labels.size(0); ++i) {
    if (y[i][finding] < 0) continue;
    out_scores->push_back(s[i][finding]);
    out_labels->push_back(static_cast<int>(y[i][finding]));
  }
}

bool has_both_classes(const std::vector<int>& labels) {
  bool pos = false, neg = false;
  for (int y : labels) (y ? pos : neg) = true;
  return pos && neg;
}

// Fits W [D, L], b [L] minimising the mean (over known samples) binary cross-entropy
// of every finding plus weight_decay * ||W||^2, with full-batch L-BFGS. Findings are
// independent, so one fit serves all of them at one weight decay.
std::pair<torch::Tensor, torch::Tensor> fit(const torch::Tensor& x, const torch::Tensor& y,
                                            double weight_decay, int max_iterations) {
  const int64_t d = x.size(1), l = y.size(1);
  auto weight = torch::zeros({d, l}, torch::requires_grad());
  auto bias = torch::zeros({l}, torch::requires_grad());
  const auto known = (y >= 0).to(torch::kFloat32);
  const auto target = y.clamp_min(0).to(torch::kFloat32);
  const auto count = known.sum(0).clamp_min(1);
  torch::optim::LBFGS optimizer(
      {weight, bias},
      torch::optim::LBFGSOptions(1.0).max_iter(max_iterations).line_search_fn("strong_wolfe"));
  auto closure = [&] {
    optimizer.zero_grad();
    auto logits = torch::matmul(x, weight) + bias;
    auto loss_per = torch::binary_cross_entropy_with_logits(logits, target, {}, {},
                                                            at::Reduction::None);
    auto loss = ((loss_per * known).sum(0) / count).sum() + weight_decay * weight.pow(2).sum();
    loss.backward();
    return loss;
  };
  optimizer.step(closure);
  return {weight.detach(), bias.detach()};
}

torch::Tensor predict(const torch::Tensor& x, const std::pair<torch::Tensor, torch::Tensor>& model) {
  return torch::sigmoid(torch::matmul(x, model.first) + model.second).contiguous();
}

}  // namespace

Result<ProbeResult> linear_probe(const ProbeSplit& train, const ProbeSplit& val,
                                 const ProbeSplit& test, const std::vector<std::string>& findings,
                                 const ProbeOptions& options) {
  const std::pair<const char*, const ProbeSplit*> splits[] = {
      {"train", &train}, {"val", &val}, {"test", &test}};
  for (const auto& [name, split] : splits) {
    if (!split->features.defined() || split->features.size(0) == 0) {
      return Status::error("empty_split", std::string("the ") + name + " split has no samples",
                           name);
    }
    if (split->features.dim() != 2 || split->labels.dim() != 2 ||
        split->features.size(0) != split->labels.size(0) ||
        split->labels.size(1) != static_cast<int64_t>(findings.size()) ||
        split->features.size(1) != train.features.size(1)) {
      return Status::error("shape_mismatch",
                           std::string("the ") + name +
                               " split's features and labels do not fit: features " +
                               std::to_string(split->features.size(0)) + " x " +
                               std::to_string(split->features.size(1)) + ", labels " +
                               std::to_string(split->labels.size(0)) + " x " +
                               std::to_string(split->labels.size(1)) + ", " +
                               std::to_string(findings.size()) + " finding names",
                           name);
    }
  }
  torch::NoGradGuard outer_no_grad;  // fit() re-enables grad for its own parameters
  const auto mean = train.features.mean(0, true);
  const auto std = train.features.std(0, true, true).clamp_min(1e-6);
  auto standardise = [&](const torch::Tensor& f) { return ((f.to(torch::kFloat32) - mean) / std).contiguous(); };
  const auto x_train = standardise(train.features);
  const auto x_val = standardise(val.features);
  const auto x_test = standardise(test.features);
  const auto y_train = train.labels.to(torch::kInt64);
  const auto y_val = val.labels.to(torch::kInt64).contiguous();
  const auto y_test = test.labels.to(torch::kInt64).contiguous();

  const int64_t num_findings = static_cast<int64_t>(findings.size());
  std::vector<double> best_val(num_findings, -1);
  std::vector<double> best_wd(num_findings, kNan);
  std::vector<torch::Tensor> best_test_scores(num_findings);
  for (double wd : options.weight_decays) {
    std::pair<torch::Tensor, torch::Tensor> model;
    {
      torch::AutoGradMode grad(true);
      model = fit(x_train, y_train, wd, options.max_iterations);
    }
    const auto val_scores = predict(x_val, model);
    const auto test_scores = predict(x_test, model);
    for (int64_t f = 0; f < num_findings; ++f) {
      std::vector<double> s;
      std::vector<int> y;
      known_samples(val_scores, y_val, f, &s, &y);
      const double ap = has_both_classes(y) ? metrics::average_precision(s, y) : kNan;
      // Without a usable validation split the smallest weight decay stands.
      if (best_test_scores[f].defined() && !(ap > best_val[f])) continue;
      best_val[f] = std::isnan(ap) ? -1 : ap;
      best_wd[f] = wd;
      best_test_scores[f] = test_scores.select(1, f).contiguous();
    }
  }

  ProbeResult result;
  double sum_auroc = 0, sum_auprc = 0;
  for (int64_t f = 0; f < num_findings; ++f) {
    FindingResult r;
    r.finding = findings[f];
    r.weight_decay = best_wd[f];
    r.val_auprc = best_val[f] < 0 ? kNan : best_val[f];
    auto scores = best_test_scores[f].unsqueeze(1);
    std::vector<double> s;
    std::vector<int> y;
    known_samples(scores, y_test.select(1, f).unsqueeze(1).contiguous(), 0, &s, &y);
    auto all = best_test_scores[f].accessor<float, 1>();
    auto labels = y_test.accessor<int64_t, 2>();
    for (int64_t i = 0; i < all.size(0); ++i) {
      r.test_scores.push_back(labels[i][f] < 0 ? kNan : all[i]);
    }
    r.test_count = static_cast<int>(y.size());
    for (int v : y) r.test_positives += v;
    std::vector<int> train_y;
    for (int64_t i = 0; i < y_train.size(0); ++i) {
      const int64_t v = y_train[i][f].item<int64_t>();
      if (v >= 0) train_y.push_back(static_cast<int>(v));
    }
    if (!has_both_classes(train_y)) {
      r.warning = "finding " + r.finding + " has one class in the train split";
    } else if (!has_both_classes(y)) {
      r.warning = "finding " + r.finding + " has one class in the test split";
    }
    if (!r.warning.empty()) {
      r.auroc = r.auprc = kNan;
      r.auroc_ci = r.auprc_ci = {kNan, kNan, kNan, 0};
    } else {
      r.auroc = metrics::auroc(s, y);
      r.auprc = metrics::average_precision(s, y);
      auto auroc_fn = [](const std::vector<double>& sc, const std::vector<int>& la) {
        return metrics::auroc(sc, la);
      };
      auto auprc_fn = [](const std::vector<double>& sc, const std::vector<int>& la) {
        return metrics::average_precision(sc, la);
      };
      r.auroc_ci = metrics::bootstrap_ci(auroc_fn, s, y, options.bootstrap_resamples, 0.05,
                                         options.seed + 2 * f);
      r.auprc_ci = metrics::bootstrap_ci(auprc_fn, s, y, options.bootstrap_resamples, 0.05,
                                         options.seed + 2 * f + 1);
      sum_auroc += r.auroc;
      sum_auprc += r.auprc;
      ++result.macro_count;
    }
    result.findings.push_back(std::move(r));
  }
  result.macro_auroc = result.macro_count ? sum_auroc / result.macro_count : kNan;
  result.macro_auprc = result.macro_count ? sum_auprc / result.macro_count : kNan;
  return result;
}

}  // namespace radflow::ml::eval
