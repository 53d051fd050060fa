// EvaluatedItems: one predictor's per-item results on a test split, read back from an
// evaluation step's per-sample predictions, with its metrics as functions of any
// sample of those items (indices, repeats allowed) — what a paired bootstrap needs.
//
// Kinds and the artifacts they read (the evaluation plugins' `predictions` outputs):
//   probe         predictions.csv (path, finding, label, score): macro_auroc, macro_auprc
//   report        predictions.jsonl (path, reference, generated, *_labels): bleu4,
//                 rouge_l, finding_f1_macro — as report-gen computes them
//   segment       predictions/overlap.csv (path, structure, ..., dice): mean_dice
//   demographics  predictions.jsonl (encoder, field, path, truth, ...), the lines of one
//                 encoder: <field>_auroc for binary fields, <field>_r2 and <field>_mae
//                 for numeric ones
// A folder input is read through the kind's file name inside it.
// MetricSet::kWithItems adds the per-item metrics the plugins record as well, by the
// names they record them under: probe auprc.<finding> and auroc.<finding>; segment
// mean_iou, dice.<structure> and iou.<structure>; report finding_f1.<finding>
// (demographics has none). The compare plugin judges the headline set; the report
// card pairs every metric, per finding and per structure too.
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

enum class MetricSet { kHeadline, kWithItems };

struct EvaluatedItems {
  std::vector<std::string> paths;  // the test items, unique, in file order
  std::vector<MetricDef> metrics;
  // metrics[metric] over paths[items[0]], paths[items[1]], ...; NaN where undefined.
  std::function<double(size_t metric, const std::vector<size_t>& items)> evaluate;
};

// Errors: "compare_input" naming the file and line (unreadable, malformed, unknown kind,
// no line for `encoder`).
Result<EvaluatedItems> read_evaluated_items(const std::string& kind, const std::string& path,
                                            const std::string& encoder,
                                            MetricSet metric_set = MetricSet::kHeadline);

// Splits one CSV line (RFC 4180 quoting; a quoted field may hold commas).
std::vector<std::string> split_csv_line(const std::string& line);

}  // namespace radflow::compare
