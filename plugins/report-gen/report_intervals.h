// report_intervals(): the 95% intervals of report-gen's test metrics, a percentile
// bootstrap over test reports (ml::metrics::indexed_bootstrap_ci, the same one the
// report card and compare use): every metric is evaluated on the same resampled report
// lists, each the way the plugin computes it on the whole test split:
//   bleu4            corpus BLEU-4 of the sample (its sentences' n-gram counts summed)
//   rouge_l(_coco)   the mean sentence ROUGE-L F (beta 1, and 1.2) of the sample
//   finding_f1*      finding_f1() of the sample's labels: per finding, micro and macro
// A resample where a metric is NaN (a finding positive on neither side) is skipped for
// that metric; with no valid resample (or 0 resamples) its bounds are NaN.
// Pure function of its arguments; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "plugins/ml/metrics/bleu.h"
#include "plugins/ml/metrics/bootstrap.h"

namespace radflow::report_gen {

struct ReportTexts {
  // Per test report, tokenized as the metrics want them: punctuation kept for BLEU,
  // dropped for ROUGE-L.
  std::vector<ml::metrics::TokenList> generated_kept, reference_kept, generated_dropped, reference_dropped;
  // Per test report, the labeler's 0/1 per finding.
  std::vector<std::vector<int>> generated_labels, reference_labels;
};

struct ReportIntervals {
  ml::metrics::BootstrapInterval bleu4, rouge_l, rouge_l_coco, finding_f1_macro, finding_f1_micro;
  std::vector<ml::metrics::BootstrapInterval> finding_f1;  // per finding
};

// Preconditions (checked): the six lists have one entry per test report.
ReportIntervals report_intervals(const ReportTexts& texts, size_t finding_count, int resamples, uint64_t seed);

}  // namespace radflow::report_gen
