#include "plugins/demographic-correlation/field_probe.h"

#include <cmath>
#include <limits>
#include <set>

#include "plugins/demographic-correlation/ridge_regression.h"
#include "plugins/ml/eval/linear_probe.h"
#include "plugins/ml/metrics/auroc.h"
#include "plugins/ml/metrics/bootstrap.h"
#include "plugins/ml/metrics/regression.h"

namespace radflow::ml::demographic {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
const char* const kSplits[] = {"train", "val", "test"};

std::vector<int64_t> rows_of(const std::vector<eval::FeatureRow>& rows, const std::string& split) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].split == split) out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

torch::Tensor select_rows(const torch::Tensor& features, const std::vector<int64_t>& index) {
  return features.index_select(0, torch::tensor(index, torch::kInt64));
}

// Rows of `index` whose value is known (finite for numeric targets).
std::vector<int64_t> known_numeric(const std::vector<int64_t>& index, const std::vector<double>& y) {
  std::vector<int64_t> out;
  for (int64_t i : index) {
    if (std::isfinite(y[i])) out.push_back(i);
  }
  return out;
}

int distinct_classes(const std::vector<int64_t>& index, const std::vector<int>& y) {
  std::set<int> seen;
  for (int64_t i : index) {
    if (y[i] >= 0) seen.insert(y[i]);
  }
  return static_cast<int>(seen.size());
}

int known_count(const std::vector<int64_t>& index, const std::vector<int>& y) {
  int n = 0;
  for (int64_t i : index) n += y[i] >= 0;
  return n;
}

// One logistic probe column per class (one column, for classes[1], with two classes).
eval::ProbeSplit probe_split(const torch::Tensor& features, const std::vector<int64_t>& index,
                             const std::vector<int>& y, int64_t columns) {
  auto labels = torch::full({static_cast<int64_t>(index.size()), columns}, -1, torch::kInt64);
  auto l = labels.accessor<int64_t, 2>();
  for (size_t r = 0; r < index.size(); ++r) {
    const int cls = y[index[r]];
    if (cls < 0) continue;
    for (int64_t c = 0; c < columns; ++c) {
      l[r][c] = columns == 1 ? (cls == 1) : (cls == c);
    }
  }
  return {select_rows(features, index), labels};
}

Status fit_categorical(const RecordField& field, const torch::Tensor& features,
                       const std::vector<eval::FeatureRow>& rows, const FieldProbeOptions& options,
                       FieldResult* out) {
  const auto y = class_targets(field, rows);
  const auto train = rows_of(rows, "train"), val = rows_of(rows, "val"), test = rows_of(rows, "test");
  out->train_count = known_count(train, y);
  out->test_count = known_count(test, y);
  if (field.classes.size() < 2) {
    out->warning = "field " + field.name + " has one class in the whole dataset";
    return Status();
  }
  const int64_t columns = field.classes.size() == 2 ? 1 : static_cast<int64_t>(field.classes.size());
  std::vector<std::string> names;
  for (int64_t c = 0; c < columns; ++c) names.push_back(field.classes[columns == 1 ? 1 : c]);
  eval::ProbeOptions probe;
  probe.weight_decays = options.weight_decays;
  probe.max_iterations = options.max_iterations;
  probe.bootstrap_resamples = 0;  // intervals are computed here, over the field's metrics
  probe.seed = options.seed;
  auto result = eval::linear_probe(probe_split(features, train, y, columns),
                                   probe_split(features, val, y, columns),
                                   probe_split(features, test, y, columns), names, probe);
  if (!result.ok()) return result.status();
  for (const auto& f : result->findings) {
    out->penalties.push_back(f.weight_decay);
    out->val_scores.push_back(f.val_auprc);
  }
  for (size_t r = 0; r < test.size(); ++r) {
    const int truth = y[test[r]];
    if (truth < 0) continue;
    SamplePrediction p;
    p.row = static_cast<size_t>(test[r]);
    p.truth_class = truth;
    for (const auto& f : result->findings) p.scores.push_back(f.test_scores[r]);
    if (columns == 1) {
      p.predicted_class = p.scores[0] >= 0.5 ? 1 : 0;
    } else {
      p.predicted_class = 0;
      for (int64_t c = 1; c < columns; ++c) {
        if (p.scores[c] > p.scores[p.predicted_class]) p.predicted_class = static_cast<int>(c);
      }
    }
    out->predictions.push_back(std::move(p));
  }
  if (distinct_classes(train, y) < 2) {
    out->warning = "field " + field.name + " has one class in the train split";
  } else if (distinct_classes(test, y) < 2) {
    out->warning = "field " + field.name + " has one class in the test split";
  }
  return Status();
}

Status fit_numeric(const RecordField& field, const torch::Tensor& features,
                   const std::vector<eval::FeatureRow>& rows, const FieldProbeOptions& options,
                   FieldResult* out) {
  const auto y = numeric_targets(field, rows);
  const auto train = known_numeric(rows_of(rows, "train"), y);
  const auto val = known_numeric(rows_of(rows, "val"), y);
  const auto test = known_numeric(rows_of(rows, "test"), y);
  out->train_count = static_cast<int>(train.size());
  out->test_count = static_cast<int>(test.size());
  if (train.size() < 2 || test.empty()) {
    out->warning = "field " + field.name + " has " +
                   (train.size() < 2 ? "fewer than two known values in the train split"
                                     : "no known value in the test split");
    return Status();
  }
  auto targets = [&](const std::vector<int64_t>& index) {
    std::vector<double> t;
    for (int64_t i : index) t.push_back(y[i]);
    return t;
  };
  const auto x_val = val.empty() ? features.slice(0, 0, 0) : select_rows(features, val);
  auto fit = ridge_regression(select_rows(features, train), targets(train), x_val, targets(val),
                              select_rows(features, test), options.alphas);
  if (!fit.ok()) return fit.status();
  out->penalties = {fit->alpha};
  out->val_scores = {fit->val_r2};
  for (size_t r = 0; r < test.size(); ++r) {
    SamplePrediction p;
    p.row = static_cast<size_t>(test[r]);
    p.truth_value = y[test[r]];
    p.predicted_value = fit->test_predictions[r];
    out->predictions.push_back(p);
  }
  return Status();
}

}  // namespace

const std::vector<std::string>& metric_names(FieldKind kind) {
  static const std::vector<std::string> categorical = {"auroc", "accuracy"};
  static const std::vector<std::string> numeric = {"r2", "mae", "pearson"};
  return kind == FieldKind::kCategorical ? categorical : numeric;
}

bool higher_is_better(const std::string& metric) { return metric != "mae"; }

double field_metric(const std::string& metric, const RecordField& field,
                    const std::vector<SamplePrediction>& predictions, const std::vector<int>* subset) {
  std::vector<const SamplePrediction*> picked;
  if (subset == nullptr) {
    for (const auto& p : predictions) picked.push_back(&p);
  } else {
    for (int i : *subset) picked.push_back(&predictions[static_cast<size_t>(i)]);
  }
  if (picked.empty()) return kNan;
  if (field.kind == FieldKind::kNumeric) {
    std::vector<double> truth, pred;
    for (const auto* p : picked) {
      truth.push_back(p->truth_value);
      pred.push_back(p->predicted_value);
    }
    if (metric == "r2") return metrics::r2(truth, pred);
    if (metric == "mae") return metrics::mae(truth, pred);
    if (metric == "pearson") return metrics::pearson_r(truth, pred);
    return kNan;
  }
  if (metric == "accuracy") {
    double correct = 0;
    for (const auto* p : picked) correct += p->truth_class == p->predicted_class;
    return correct / static_cast<double>(picked.size());
  }
  if (metric != "auroc") return kNan;
  const size_t columns = picked.front()->scores.size();
  double sum = 0;
  int finite = 0;
  for (size_t c = 0; c < columns; ++c) {
    std::vector<double> scores;
    std::vector<int> labels;
    for (const auto* p : picked) {
      scores.push_back(p->scores[c]);
      labels.push_back(columns == 1 ? p->truth_class == 1 : p->truth_class == static_cast<int>(c));
    }
    const double value = metrics::auroc(scores, labels);
    if (std::isfinite(value)) {
      sum += value;
      ++finite;
    }
  }
  return finite ? sum / finite : kNan;  // macro over the classes present in the sample
}

Result<FieldResult> probe_field(const RecordField& field, const torch::Tensor& features,
                                const std::vector<eval::FeatureRow>& rows,
                                const FieldProbeOptions& options) {
  if (!features.defined() || features.dim() != 2 || features.size(0) != static_cast<int64_t>(rows.size())) {
    return Status::error("shape_mismatch", "features and rows disagree: " +
                                               std::to_string(features.defined() ? features.size(0) : 0) +
                                               " feature vectors, " + std::to_string(rows.size()) + " rows");
  }
  for (const char* split : kSplits) {
    if (rows_of(rows, split).empty()) {
      return Status::error("empty_split", std::string("the ") + split + " split has no samples", split);
    }
  }
  FieldResult out;
  out.field = field;
  const auto x = features.to(torch::kFloat32).contiguous();
  Status fitted = field.kind == FieldKind::kCategorical ? fit_categorical(field, x, rows, options, &out)
                                                        : fit_numeric(field, x, rows, options, &out);
  if (!fitted.ok()) return fitted;

  // Bootstrap over test rows: the "labels" handed to bootstrap_ci are row indices
  // into the predictions, so one resampler serves every metric.
  std::vector<int> index(out.predictions.size());
  for (size_t i = 0; i < index.size(); ++i) index[i] = static_cast<int>(i);
  const std::vector<double> unused(index.size(), 0.0);
  const auto& names = metric_names(field.kind);
  for (size_t m = 0; m < names.size(); ++m) {
    MetricValue value{names[m], kNan, kNan, kNan, 0};
    if (out.warning.empty()) {
      auto fn = [&](const std::vector<double>&, const std::vector<int>& picked) {
        return field_metric(names[m], field, out.predictions, &picked);
      };
      const auto ci = metrics::bootstrap_ci(fn, unused, index, options.bootstrap_resamples, 0.05,
                                            options.seed + m);
      value = {names[m], ci.point, ci.low, ci.high, ci.n_valid};
    }
    out.metrics.push_back(value);
  }
  if (out.warning.empty() && field.kind == FieldKind::kNumeric && !std::isfinite(out.metrics[0].value)) {
    out.warning = "field " + field.name + " has fewer than two distinct values in the test split";
  }
  if (out.warning.empty() && field.kind == FieldKind::kCategorical && field.classes.size() > 2) {
    for (size_t c = 0; c < field.classes.size(); ++c) {
      std::vector<double> scores;
      std::vector<int> labels;
      for (const auto& p : out.predictions) {
        scores.push_back(p.scores[c]);
        labels.push_back(p.truth_class == static_cast<int>(c));
      }
      out.class_auroc.push_back(metrics::auroc(scores, labels));
    }
  }
  return out;
}

}  // namespace radflow::ml::demographic
