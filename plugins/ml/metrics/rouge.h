// rouge_l(): sentence-level ROUGE-L from the longest common subsequence (LCS) of
// hypothesis and reference tokens: precision = LCS / |hyp|, recall = LCS / |ref|,
// F_beta = (1 + beta^2) P R / (R + beta^2 P), and all three are 0 when either side is
// empty or nothing matches. Two conventions are in use, so the beta is a parameter:
//  - kRougeScoreBeta = 1: the rouge-score package (rouge_scorer.RougeScorer(["rougeL"])),
//    F1. Tokenize with PunctuationMode::kDrop for token-level parity (rouge-score's
//    default also skips stemming).
//  - kCocoBeta = 1.2: pycocoevalcap's Rouge (the captioning / report-generation
//    literature's "ROUGE-L"), which weights recall higher. With one reference its
//    max-over-references is the single P and R. pycocoevalcap splits PTB-tokenized,
//    lowercased text on spaces; kDrop is the nearest tokenizer here.
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

inline constexpr double kRougeScoreBeta = 1.0;
inline constexpr double kCocoBeta = 1.2;

RougeScore rouge_l(const std::vector<std::string>& hypothesis,
                   const std::vector<std::string>& reference, double beta = kRougeScoreBeta);

// Length of the longest common subsequence; exposed for tests and other metrics.
size_t lcs_length(const std::vector<std::string>& a, const std::vector<std::string>& b);

// Precondition (checked): equal counts.
double mean_rouge_l_f(const std::vector<std::vector<std::string>>& hypotheses,
                      const std::vector<std::vector<std::string>>& references,
                      double beta = kRougeScoreBeta);

}  // namespace radflow::ml::metrics
