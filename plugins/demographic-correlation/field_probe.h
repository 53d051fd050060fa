// probe_field(): how well frozen features predict one record field, on the test split
// of a feature set — the per-field step of demographic-correlation
// (raddino-method.md §4.4).
//
// Categorical fields get logistic probes (eval::linear_probe: one classifier for two
// classes, one-vs-rest for more; weight decay chosen on val), scored by AUROC
// (macro over classes for more than two) and accuracy. Numeric fields get a ridge
// regression (ridge_regression.h; alpha chosen on val), scored by R², MAE and
// Pearson r. Every metric carries a percentile bootstrap 95% interval over the test
// rows. Rows whose value of the field is unknown take no part.
//
// Metrics are computed from the returned per-sample predictions by field_metric(),
// so anyone holding the predictions recomputes exactly the reported values.
// Degenerate fields never fail: one class in the train or test split, or too few
// known values, gives NaN metrics and a `warning`.
//
// Pure function of its inputs (and the seed); not thread-safe only in that LibTorch's
// intra-op pool is shared.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/demographic-correlation/record_field.h"

namespace radflow::ml::demographic {

struct FieldProbeOptions {
  std::vector<double> weight_decays = {1e-5, 1e-4, 1e-3, 1e-2, 1e-1};  // logistic probes
  std::vector<double> alphas = {1e-2, 1e-1, 1, 10, 100, 1e3, 1e4};      // ridge
  int max_iterations = 100;  // L-BFGS iterations per logistic fit
  int bootstrap_resamples = 1000;
  uint64_t seed = 0;
};

struct MetricValue {
  std::string name;  // "auroc", "accuracy" (categorical); "r2", "mae", "pearson" (numeric)
  double value = 0;  // NaN when undefined
  double low = 0, high = 0;  // bootstrap 95% interval; NaN when undefined
  int valid_resamples = 0;
};

struct SamplePrediction {
  size_t row = 0;                 // index into the feature set's rows (a test row)
  double truth_value = 0;         // numeric fields
  double predicted_value = 0;
  int truth_class = -1;           // categorical fields: index into field.classes
  int predicted_class = -1;
  // Categorical: two classes -> one score, the probability of classes[1];
  // more -> one one-vs-rest probability per class.
  std::vector<double> scores;
};

struct FieldResult {
  RecordField field;
  std::vector<MetricValue> metrics;  // in metric_names(field.kind) order
  std::vector<double> class_auroc;   // more than two classes: per class (NaN if absent in test)
  // The penalty chosen on val and the val score there: one value for a numeric field
  // (ridge alpha, val R²) or a two-class field (weight decay, val AUPRC), one per
  // class otherwise.
  std::vector<double> penalties;
  std::vector<double> val_scores;
  int train_count = 0;  // rows with a known value
  int test_count = 0;
  std::string warning;  // empty, or why the metrics are NaN
  std::vector<SamplePrediction> predictions;  // one per test row with a known value
};

// features: [N, D], row i belonging to rows[i]. Errors: "shape_mismatch" (rows and
// features disagree), "empty_split" (a split of the rows is empty),
// "invalid_param" (an empty penalty list).
Result<FieldResult> probe_field(const RecordField& field, const torch::Tensor& features,
                                const std::vector<eval::FeatureRow>& rows,
                                const FieldProbeOptions& options);

// The metrics reported for a kind of field, in report order.
const std::vector<std::string>& metric_names(FieldKind kind);
// MAE is an error (lower is better); every other metric is higher-is-better.
bool higher_is_better(const std::string& metric);
// `metric` computed from predictions[subset[i]] (all predictions when subset is null).
double field_metric(const std::string& metric, const RecordField& field,
                    const std::vector<SamplePrediction>& predictions,
                    const std::vector<int>* subset = nullptr);

}  // namespace radflow::ml::demographic
