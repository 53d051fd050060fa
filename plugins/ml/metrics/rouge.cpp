#include "plugins/ml/metrics/rouge.h"

#include <algorithm>
#include <limits>

#include "common/check.h"

namespace radflow::ml::metrics {

size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  // One rolling row of the classic DP table keeps memory linear in |b|.
  std::vector<size_t> row(b.size() + 1, 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = 0;  // row[j - 1] of the previous i
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = a[i - 1] == b[j - 1] ? diagonal + 1 : std::max(row[j], row[j - 1]);
      diagonal = above;
    }
  }
  return row[b.size()];
}

RougeScore rouge_l(const std::vector<std::string>& hypothesis,
                   const std::vector<std::string>& reference, double beta) {
  RougeScore score;
  if (hypothesis.empty() || reference.empty()) return score;
  const double lcs = static_cast<double>(lcs_length(hypothesis, reference));
  score.precision = lcs / static_cast<double>(hypothesis.size());
  score.recall = lcs / static_cast<double>(reference.size());
  if (score.precision > 0.0 && score.recall > 0.0) {
    const double b2 = beta * beta;
    score.fmeasure = (1.0 + b2) * score.precision * score.recall / (score.recall + b2 * score.precision);
  }
  return score;
}

double mean_rouge_l_f(const std::vector<std::vector<std::string>>& hypotheses,
                      const std::vector<std::vector<std::string>>& references, double beta) {
  RF_CHECK(hypotheses.size() == references.size(),
           "mean_rouge_l_f: hypotheses and references differ in count");
  if (hypotheses.empty()) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0.0;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    sum += rouge_l(hypotheses[i], references[i], beta).fmeasure;
  }
  return sum / static_cast<double>(hypotheses.size());
}

}  // namespace radflow::ml::metrics
