#include "plugins/ml/metrics/bleu.h"

#include <gtest/gtest.h>

#include <cmath>

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
  EXPECT_DOUBLE_EQ(d.bleu, 0.0);  // no bigram matches: unsmoothed BLEU is 0
}

TEST(CorpusBleu4, ZeroFourGramPrecisionIsZero) {
  // Unigram..trigram matches exist but no 4-gram does.
  EXPECT_DOUBLE_EQ(corpus_bleu4({words("the cat is on the mat")}, {words("the cat sat on the mat")}),
                   0.0);
}

TEST(CorpusBleu4, DegenerateInputsAreZero) {
  EXPECT_DOUBLE_EQ(corpus_bleu4({}, {}), 0.0);
  EXPECT_DOUBLE_EQ(corpus_bleu4({{}}, {words("a b c d")}), 0.0);
  EXPECT_DOUBLE_EQ(corpus_bleu4({words("a b c")}, {words("a b c")}), 0.0);  // no 4-grams
}

}  // namespace
}  // namespace radflow::ml::metrics
