// rouge_l(): sentence-level ROUGE-L from the longest common subsequence (LCS) of
// hypothesis and reference tokens, as the rouge-score package computes it
// (rouge_scorer.RougeScorer(["rougeL"])): precision = LCS / |hyp|,
// recall = LCS / |ref|, F = 2PR / (P + R) (beta = 1), and all three are 0 when
// either side is empty or nothing matches. For token-level parity with rouge-score
// tokenize with PunctuationMode::kDrop (rouge-score's default also skips stemming).
//
// mean_rouge_l_f(): the mean F over a corpus (one reference per hypothesis), NaN for
// an empty corpus. O(|hyp| * |ref|) time, O(|ref|) memory. Pure, thread-safe.
#pragma once

#include <string>
#include <vector>

namespace radflow::ml::metrics {

struct RougeScore {
  double precision = 0.0;
  double recall = 0.0;
  double fmeasure = 0.0;
};

RougeScore rouge_l(const std::vector<std::string>& hypothesis,
                   const std::vector<std::string>& reference);

// Length of the longest common subsequence; exposed for tests and other metrics.
size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b);

// Precondition (checked): equal counts.
double mean_rouge_l_f(const std::vector<std::vector<std::string>>& hypotheses,
                      const std::vector<std::vector<std::string>>& references);

}  // namespace radflow::ml::metrics
