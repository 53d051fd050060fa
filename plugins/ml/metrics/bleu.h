// corpus_bleu4(): corpus-level BLEU-4 with one reference per hypothesis, as
// nltk.translate.bleu_score.corpus_bleu (default uniform weights, no smoothing) and
// sacrebleu's corpus_bleu (smooth_method="none") compute it, on a 0..1 scale
// (sacrebleu reports 100x this).
//
//   p_n  = sum over sentences of clipped n-gram matches / sum of hypothesis n-grams
//   BP   = 1 if c > r else exp(1 - r / c)   (c, r: total hypothesis / reference tokens)
//   BLEU = BP * exp(mean_{n=1..4} log p_n)
//
// Clipping: an n-gram counts at most as often as it occurs in its reference. Any
// zero p_n (including a corpus too short to contain any 4-gram) makes BLEU 0, as
// unsmoothed BLEU does; an empty corpus or all-empty hypotheses also give 0.
// Tokenize text with tokenize() (text_tokenizer.h). Pure function, thread-safe.
#pragma once

#include <string>
#include <vector>

namespace radflow::ml::metrics {

using TokenList = std::vector<std::string>;

struct BleuDetails {
  double bleu = 0.0;
  double brevity_penalty = 0.0;
  double precisions[4] = {0, 0, 0, 0};  // p_1..p_4 (0 when there are no n-grams)
  long long hypothesis_length = 0;
  long long reference_length = 0;
};

// Precondition (checked): hypotheses.size() == references.size().
double corpus_bleu4(const std::vector<TokenList>& hypotheses,
                    const std::vector<TokenList>& references);
BleuDetails corpus_bleu4_details(const std::vector<TokenList>& hypotheses,
                                 const std::vector<TokenList>& references);

}  // namespace radflow::ml::metrics
