// corpus_bleu4(): corpus-level BLEU-4 with one reference per hypothesis, exactly as
// nltk.translate.bleu_score.corpus_bleu computes it with its defaults: uniform weights
// (0.25 x 4), no smoothing (SmoothingFunction().method0), auto_reweigh off; 0..1 scale.
// tests/ml/make_bleu_cases.py produced the test's nltk reference values.
//
//   p_n  = sum over sentences of clipped n-gram matches
//          / sum over sentences of max(1, hypothesis n-grams)
//   BP   = 1 if c > r, 0 if c == 0, else exp(1 - r / c)   (c, r: total hyp / ref tokens)
//   BLEU = 0 if no unigram matches, else BP * exp(sum_n 0.25 log p_n)
//
// nltk's details kept on purpose: the max(1, .) denominator, so a hypothesis shorter
// than n (an empty one too) adds 1 to p_n's denominator; a p_n with no matches enters
// as DBL_MIN (sys.float_info.min), so BLEU is then tiny (~1e-77) but not exactly 0.
// sacrebleu (smooth_method="none") differs on both: it counts only real n-grams and
// returns exactly 0 for a zero p_n. Clipping: an n-gram counts at most as often as it
// occurs in its reference. Tokenize text with tokenize() (text_tokenizer.h). Pure
// function, thread-safe.
#pragma once

#include <string>
#include <vector>

namespace radflow::ml::metrics {

using TokenList = std::vector<std::string>;

struct BleuDetails {
  double bleu = 0.0;
  double brevity_penalty = 0.0;
  double precisions[4] = {0, 0, 0, 0};  // p_1..p_4 as nltk forms them (max(1, .) denominators)
  long long hypothesis_length = 0;
  long long reference_length = 0;
};

// One sentence's share of corpus BLEU-4: its clipped n-gram matches, its max(1, .)
// n-gram totals and both lengths. Corpus BLEU-4 of any list of sentences is
// bleu4_of_counts of the sum of their counts, bit for bit: a bootstrap counts each
// sentence once and sums per resample instead of counting n-grams again.
struct BleuCounts {
  long long matches[4] = {0, 0, 0, 0};
  long long totals[4] = {0, 0, 0, 0};
  long long hypothesis_length = 0;
  long long reference_length = 0;
  BleuCounts& operator+=(const BleuCounts& other);
};
BleuCounts sentence_bleu_counts(const TokenList& hypothesis, const TokenList& reference);
BleuDetails bleu4_of_counts(const BleuCounts& sum);

// Precondition (checked): hypotheses.size() == references.size().
double corpus_bleu4(const std::vector<TokenList>& hypotheses,
                    const std::vector<TokenList>& references);
BleuDetails corpus_bleu4_details(const std::vector<TokenList>& hypotheses,
                                 const std::vector<TokenList>& references);

}  // namespace radflow::ml::metrics
