#include "plugins/ml/metrics/bleu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "plugins/ml/metrics/text_tokenizer.h"

namespace radflow::ml::metrics {
namespace {

TokenList words(const char* text) { return tokenize(text); }

TEST(Tokenizer, KeepsPunctuationAsTokens) {
  const TokenList expected = {"heart", "size", "is", "normal", ".", "no", "3",
                              ".",     "5",    "-",  "cm",     "nodule", "!"};
  EXPECT_EQ(tokenize("Heart size is normal. No 3.5-cm nodule!"), expected);
}

TEST(Tokenizer, DropModeSplitsOnPunctuationLikeRougeScore) {
  const TokenList expected = {"the", "patient", "s", "lungs", "are", "clear"};
  EXPECT_EQ(tokenize("The patient's lungs,\tare  CLEAR.\n", PunctuationMode::kDrop), expected);
}

TEST(Tokenizer, KeepsNonAsciiBytesInsideWords) {
  const TokenList expected = {"na\xC3\xAFve", "x"};
  EXPECT_EQ(tokenize("Na\xC3\xAFve x", PunctuationMode::kDrop), expected);
  EXPECT_TRUE(tokenize("   ").empty());
}

TEST(CorpusBleu4, IdenticalIsOne) {
  EXPECT_DOUBLE_EQ(corpus_bleu4({words("the heart is normal in size .")},
                                {words("the heart is normal in size .")}),
                   1.0);
}

TEST(CorpusBleu4, LongerHypothesisNoBrevityPenalty) {
  // p1..p4 = 6/7, 5/6, 4/5, 3/4 ; c = 7 > r = 6 so BP = 1.
  const BleuDetails d = corpus_bleu4_details({words("the cat sat on the mat today")},
                                             {words("the cat sat on the mat")});
  EXPECT_DOUBLE_EQ(d.brevity_penalty, 1.0);
  EXPECT_DOUBLE_EQ(d.precisions[0], 6.0 / 7.0);
  EXPECT_DOUBLE_EQ(d.precisions[3], 3.0 / 4.0);
  EXPECT_NEAR(d.bleu, std::pow(3.0 / 7.0, 0.25), 1e-12);
}

TEST(CorpusBleu4, ShortHypothesisGetsBrevityPenalty) {
  // All precisions 1; c = 5, r = 6: BP = exp(1 - 6/5).
  EXPECT_NEAR(corpus_bleu4({words("the cat sat on the")}, {words("the cat sat on the mat")}),
              std::exp(-0.2), 1e-12);
}

TEST(CorpusBleu4, AggregatesCountsOverTheCorpusNotSentenceScores) {
  // Sums: p = 11/12, 9/10, 7/8, 5/6; c = r = 12 so BP = 1.
  const double bleu = corpus_bleu4(
      {words("the cat sat on the mat today"), words("the cat sat on the")},
      {words("the cat sat on the mat"), words("the cat sat on the mat")});
  EXPECT_NEAR(bleu, std::pow(11.0 / 12 * 9.0 / 10 * 7.0 / 8 * 5.0 / 6, 0.25), 1e-12);
}

TEST(CorpusBleu4, ClipsRepeatedNgrams) {
  const BleuDetails d = corpus_bleu4_details({words("the the the the")}, {words("the cat")});
  EXPECT_DOUBLE_EQ(d.precisions[0], 0.25);
  // No bigram matches: nltk's unsmoothed BLEU is DBL_MIN^(3/4) x 0.25^(1/4) x BP, ~0.
  EXPECT_GT(d.bleu, 0.0);
  EXPECT_LT(d.bleu, 1e-200);
}

TEST(CorpusBleu4, ZeroFourGramPrecisionIsNearlyZero) {
  // Unigram..trigram matches exist but no 4-gram does: p_4 enters as DBL_MIN (nltk).
  const double bleu = corpus_bleu4({words("the cat is on the mat")}, {words("the cat sat on the mat")});
  EXPECT_GT(bleu, 0.0);
  EXPECT_LT(bleu, 1e-70);
}

TEST(CorpusBleu4, DegenerateInputs) {
  EXPECT_DOUBLE_EQ(corpus_bleu4({}, {}), 0.0);
  EXPECT_DOUBLE_EQ(corpus_bleu4({{}}, {words("a b c d")}), 0.0);
  // No 4-grams: the 4-gram denominator is max(1, 0) = 1 with 0 matches, so ~0.
  const BleuDetails d = corpus_bleu4_details({words("a b c")}, {words("a b c")});
  EXPECT_DOUBLE_EQ(d.precisions[3], 0.0);
  EXPECT_LT(d.bleu, 1e-70);
}

std::vector<std::string> split_spaces(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

struct NltkCase {
  const char* name;
  std::vector<std::pair<std::string, std::string>> pairs;  // hypothesis, reference
  double nltk_corpus_bleu;
};

// Produced by tests/ml/make_bleu_cases.py with nltk 3.8 (Debian python3-nltk, python
// 3.11.2): corpus_bleu(default weights, no smoothing = method0). The short and empty
// hypotheses are where nltk's max(1, count) denominators matter.
const std::vector<NltkCase>& nltk_cases() {
  static const std::vector<NltkCase> cases = {
    // BEGIN make_bleu_cases.py
    {"two_long", {{"the heart is normal in size and the lungs are clear", "the heart size is normal and the lungs are clear"}, {"no pleural effusion or pneumothorax is seen", "there is no pleural effusion or pneumothorax"}}, 0.5307712171072443},
    {"short_and_empty_hypotheses", {{"the heart is normal in size and the lungs are clear", "the heart size is normal and the lungs are clear"}, {"no effusion", "no pleural effusion"}, {"clear", "lungs are clear"}, {"", "no pneumothorax"}, {"heart size normal", "heart size is normal"}}, 0.2648418155997552},
    {"only_short_hypotheses", {{"no effusion", "no pleural effusion"}, {"lungs clear", "lungs are clear"}, {"heart normal", "heart is normal"}}, 1.1049969584438628e-231},
    {"empty_hypothesis_only", {{"", "no acute findings"}}, 0.0},
    {"no_unigram_match", {{"alpha beta gamma delta", "one two three four"}}, 0.0},
    {"no_fourgram_match", {{"the cat is on the mat", "the cat sat on the mat"}}, 7.262123179505913e-78},
    // END make_bleu_cases.py
  };
  return cases;
}

TEST(CorpusBleu4, MatchesNltkCorpusBleuIncludingShortAndEmptyHypotheses) {
  for (const auto& c : nltk_cases()) {
    std::vector<TokenList> hyps, refs;
    for (const auto& [h, r] : c.pairs) {
      hyps.push_back(split_spaces(h));
      refs.push_back(split_spaces(r));
    }
    const double bleu = corpus_bleu4(hyps, refs);
    if (c.nltk_corpus_bleu == 0.0) {
      EXPECT_EQ(bleu, 0.0) << c.name;
    } else {
      EXPECT_NEAR(bleu / c.nltk_corpus_bleu, 1.0, 1e-12) << c.name << ": " << bleu << " vs nltk " << c.nltk_corpus_bleu;
    }
  }
}

// A bootstrap resample's BLEU-4 from per-sentence counts (the compare library's fast
// path) equals corpus_bleu4 of the resampled sentences, repeats included.
TEST(CorpusBleu, SummedSentenceCountsGiveTheCorpusScore) {
  const std::vector<TokenList> hyps = {split_spaces("the lungs are clear"), split_spaces("small left effusion"),
                                       split_spaces("no"), split_spaces("heart size is normal today")};
  const std::vector<TokenList> refs = {split_spaces("the lungs are clear"), split_spaces("small right effusion"),
                                       split_spaces("no acute findings"), split_spaces("heart size is normal")};
  for (const std::vector<size_t>& sample : {std::vector<size_t>{0, 1, 2, 3}, {1, 1, 3}, {2}, {0, 2, 2, 3, 1}}) {
    std::vector<TokenList> h, r;
    BleuCounts sum;
    for (size_t i : sample) {
      h.push_back(hyps[i]);
      r.push_back(refs[i]);
      sum += sentence_bleu_counts(hyps[i], refs[i]);
    }
    EXPECT_EQ(bleu4_of_counts(sum).bleu, corpus_bleu4(h, r)) << sample.size();
  }
}

}  // namespace
}  // namespace radflow::ml::metrics
