#include "plugins/ml/metrics/bleu.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <map>

#include "common/check.h"

namespace radflow::ml::metrics {
namespace {

using NgramCounts = std::map<std::vector<std::string>, long long>;

NgramCounts count_ngrams(const TokenList& tokens, size_t n) {
  NgramCounts counts;
  for (size_t i = 0; i + n <= tokens.size(); ++i) {
    ++counts[std::vector<std::string>(tokens.begin() + static_cast<std::ptrdiff_t>(i),
                                      tokens.begin() + static_cast<std::ptrdiff_t>(i + n))];
  }
  return counts;
}

}  // namespace

BleuCounts& BleuCounts::operator+=(const BleuCounts& other) {
  for (int n = 0; n < 4; ++n) {
    matches[n] += other.matches[n];
    totals[n] += other.totals[n];
  }
  hypothesis_length += other.hypothesis_length;
  reference_length += other.reference_length;
  return *this;
}

BleuCounts sentence_bleu_counts(const TokenList& hypothesis, const TokenList& reference) {
  BleuCounts out;
  out.hypothesis_length = static_cast<long long>(hypothesis.size());
  out.reference_length = static_cast<long long>(reference.size());
  for (size_t n = 1; n <= 4; ++n) {
    const NgramCounts hyp = count_ngrams(hypothesis, n);
    const NgramCounts ref = count_ngrams(reference, n);
    long long hyp_ngrams = 0;
    for (const auto& [gram, count] : hyp) {
      hyp_ngrams += count;
      auto it = ref.find(gram);
      if (it != ref.end()) out.matches[n - 1] += std::min(count, it->second);
    }
    out.totals[n - 1] = std::max(1LL, hyp_ngrams);  // nltk's modified_precision denominator
  }
  return out;
}

BleuDetails bleu4_of_counts(const BleuCounts& sum) {
  BleuDetails out;
  out.hypothesis_length = sum.hypothesis_length;
  out.reference_length = sum.reference_length;
  for (int n = 0; n < 4; ++n) {
    out.precisions[n] =
        sum.totals[n] > 0 ? static_cast<double>(sum.matches[n]) / static_cast<double>(sum.totals[n]) : 0.0;
  }
  const double c = static_cast<double>(out.hypothesis_length);
  const double r = static_cast<double>(out.reference_length);
  out.brevity_penalty = c > r ? 1.0 : (c == 0.0 ? 0.0 : std::exp(1.0 - r / c));
  if (sum.matches[0] == 0) return out;  // nltk: no unigram match is a plain 0
  double log_sum = 0.0;
  for (int n = 0; n < 4; ++n) {
    // method0 (no smoothing) puts sys.float_info.min in place of a zero precision.
    log_sum += 0.25 * std::log(sum.matches[n] > 0 ? out.precisions[n] : DBL_MIN);
  }
  out.bleu = out.brevity_penalty * std::exp(log_sum);
  return out;
}

BleuDetails corpus_bleu4_details(const std::vector<TokenList>& hypotheses,
                                 const std::vector<TokenList>& references) {
  RF_CHECK(hypotheses.size() == references.size(),
           "corpus_bleu4: hypotheses and references differ in count");
  BleuCounts sum;
  for (size_t s = 0; s < hypotheses.size(); ++s) sum += sentence_bleu_counts(hypotheses[s], references[s]);
  return bleu4_of_counts(sum);
}

double corpus_bleu4(const std::vector<TokenList>& hypotheses,
                    const std::vector<TokenList>& references) {
  return corpus_bleu4_details(hypotheses, references).bleu;
}

}  // namespace radflow::ml::metrics
