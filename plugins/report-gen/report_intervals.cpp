#include "plugins/report-gen/report_intervals.h"

#include <cmath>

#include "common/check.h"
#include "plugins/ml/metrics/rouge.h"
#include "plugins/report-gen/finding_labeler.h"

namespace radflow::report_gen {

namespace metrics = ml::metrics;

namespace {

constexpr double kIntervalAlpha = 0.05;  // 95% intervals

double mean_of_sample(const std::vector<double>& values, const std::vector<size_t>& sample) {
  if (sample.empty()) return std::nan("");
  double sum = 0.0;
  for (size_t i : sample) sum += values[i];
  return sum / static_cast<double>(sample.size());
}

}  // namespace

ReportIntervals report_intervals(const ReportTexts& texts, size_t finding_count, int resamples, uint64_t seed) {
  const size_t n = texts.generated_kept.size();
  RF_CHECK(texts.reference_kept.size() == n && texts.generated_dropped.size() == n &&
               texts.reference_dropped.size() == n && texts.generated_labels.size() == n &&
               texts.reference_labels.size() == n,
           "report_intervals: the per-report lists differ in length");
  // Per report once; a resample only sums or averages them.
  std::vector<metrics::BleuCounts> bleu;
  std::vector<double> rouge, rouge_coco;
  for (size_t i = 0; i < n; ++i) {
    bleu.push_back(metrics::sentence_bleu_counts(texts.generated_kept[i], texts.reference_kept[i]));
    rouge.push_back(metrics::rouge_l(texts.generated_dropped[i], texts.reference_dropped[i]).fmeasure);
    rouge_coco.push_back(
        metrics::rouge_l(texts.generated_dropped[i], texts.reference_dropped[i], metrics::kCocoBeta).fmeasure);
  }
  auto f1_of = [&](const std::vector<size_t>& sample) {
    std::vector<std::vector<int>> generated, reference;
    for (size_t i : sample) {
      generated.push_back(texts.generated_labels[i]);
      reference.push_back(texts.reference_labels[i]);
    }
    return finding_f1(generated, reference, finding_count);
  };
  auto interval = [&](const metrics::IndexedMetricFn& metric) {
    return metrics::indexed_bootstrap_ci(metric, n, resamples, kIntervalAlpha, seed);
  };
  ReportIntervals out;
  out.bleu4 = interval([&](const std::vector<size_t>& sample) {
    metrics::BleuCounts sum;
    for (size_t i : sample) sum += bleu[i];
    return metrics::bleu4_of_counts(sum).bleu;
  });
  out.rouge_l = interval([&](const std::vector<size_t>& sample) { return mean_of_sample(rouge, sample); });
  out.rouge_l_coco = interval([&](const std::vector<size_t>& sample) { return mean_of_sample(rouge_coco, sample); });
  out.finding_f1_macro = interval([&](const std::vector<size_t>& sample) { return f1_of(sample).macro; });
  out.finding_f1_micro = interval([&](const std::vector<size_t>& sample) { return f1_of(sample).micro; });
  for (size_t f = 0; f < finding_count; ++f) {
    out.finding_f1.push_back(interval([&](const std::vector<size_t>& sample) { return f1_of(sample).per_finding[f]; }));
  }
  return out;
}

}  // namespace radflow::report_gen
