// EvaluatedItems: one predictor's per-item results on a test split, read back from an
// evaluation step's per-sample predictions, with its metrics as functions of any
// sample of those items (indices, repeats allowed) — what a paired bootstrap needs.
//
// Kinds and the artifacts they read (the evaluation plugins' `predictions` outputs):
//   probe         predictions.csv (path, finding, label, score): macro_auroc, macro_auprc
//   report        predictions.jsonl (path, reference, generated, *_labels): bleu4,
//                 rouge_l, finding_f1_macro — as report-gen computes them
//   segment       predictions/overlap.csv (path, structure, ..., dice): mean_dice
// A folder input is read through the kind's file name inside it.
//   demographics  predictions.jsonl (encoder, field, path, truth, ...), the lines of one
//                 encoder: <field>_auroc for binary fields, <field>_r2 and <field>_mae
//                 for numeric ones
// Each metric equals the producing plugin's reported value on the full item list.
// Value type; `evaluate` owns its data and is thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/ml/metrics/bootstrap.h"

namespace radflow::compare {

struct MetricDef {
  std::string name;
  ml::metrics::Direction direction = ml::metrics::Direction::kHigherIsBetter;
};

struct EvaluatedItems {
  std::vector<std::string> paths;  // the test items, unique, in file order
  std::vector<MetricDef> metrics;
  // metrics[metric] over paths[items[0]], paths[items[1]], ...; NaN where undefined.
  std::function<double(size_t metric, const std::vector<size_t>& items)> evaluate;
};

// Errors: "compare_input" naming the file and line (unreadable, malformed, unknown kind,
// no line for `encoder`).
Result<EvaluatedItems> read_evaluated_items(const std::string& kind, const std::string& path,
                                            const std::string& encoder);

// Splits one CSV line (RFC 4180 quoting; a quoted field may hold commas).
std::vector<std::string> split_csv_line(const std::string& line);

}  // namespace radflow::compare
