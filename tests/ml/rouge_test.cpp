#include "plugins/ml/metrics/rouge.h"

#include <gtest/gtest.h>

#include <cmath>

#include "plugins/ml/metrics/text_tokenizer.h"

namespace radflow::ml::metrics {
namespace {

std::vector<std::string> content_words(const char* text) { return tokenize(text, PunctuationMode::kDrop); }

TEST(RougeL, RougeScoreReadmeExample) {
  // rouge-score README: target "The quick brown fox jumps over the lazy dog",
  // prediction "The quick brown dog jumps on the log." -> P 0.625, R 0.5556, F 0.5882.
  const RougeScore s = rouge_l(content_words("The quick brown dog jumps on the log."),
                               content_words("The quick brown fox jumps over the lazy dog"));
  EXPECT_DOUBLE_EQ(s.precision, 5.0 / 8.0);
  EXPECT_DOUBLE_EQ(s.recall, 5.0 / 9.0);
  EXPECT_NEAR(s.fmeasure, 2.0 * (5.0 / 8) * (5.0 / 9) / (5.0 / 8 + 5.0 / 9), 1e-15);
  EXPECT_NEAR(s.fmeasure, 0.5882, 1e-4);
}

TEST(RougeL, SubsequenceNotSubstring) {
  // LCS "the cat was under the bed" skips "found": P = 6/7, R = 1, F = 12/13.
  const RougeScore s =
      rouge_l(content_words("the cat was found under the bed"), content_words("the cat was under the bed"));
  EXPECT_NEAR(s.fmeasure, 12.0 / 13.0, 1e-15);
}

TEST(RougeL, LcsLength) {
  EXPECT_EQ(lcs_length(content_words("a b c d e"), content_words("b d e a")), 3u);
  EXPECT_EQ(lcs_length(content_words("a b"), content_words("c d")), 0u);
  EXPECT_EQ(lcs_length({}, content_words("a")), 0u);
}

TEST(RougeL, EmptyOrDisjointIsZero) {
  EXPECT_DOUBLE_EQ(rouge_l({}, content_words("a b")).fmeasure, 0.0);
  EXPECT_DOUBLE_EQ(rouge_l(content_words("a b"), {}).fmeasure, 0.0);
  EXPECT_DOUBLE_EQ(rouge_l(content_words("a b"), content_words("c d")).fmeasure, 0.0);
}

TEST(RougeL, CorpusMeanOfF) {
  const double mean = mean_rouge_l_f({content_words("a b c"), content_words("x y")}, {content_words("a b c"), content_words("z")});
  EXPECT_DOUBLE_EQ(mean, 0.5);
  EXPECT_TRUE(std::isnan(mean_rouge_l_f({}, {})));
}

TEST(RougeL, CocoBetaWeightsRecallAsPycocoevalcap) {
  // hyp "a b c d", ref "a b e": LCS 2, P = 1/2, R = 2/3.
  const RougeScore f1 = rouge_l(content_words("a b c d"), content_words("a b e"));
  const RougeScore coco = rouge_l(content_words("a b c d"), content_words("a b e"), kCocoBeta);
  EXPECT_DOUBLE_EQ(coco.precision, 0.5);
  EXPECT_DOUBLE_EQ(coco.recall, 2.0 / 3.0);
  EXPECT_NEAR(f1.fmeasure, 4.0 / 7.0, 1e-15);  // 2PR / (P + R)
  // (1 + 1.44) P R / (R + 1.44 P) = 2.44 / 3 / (2 / 3 + 0.72)
  EXPECT_NEAR(coco.fmeasure, (2.44 / 3.0) / (2.0 / 3.0 + 0.72), 1e-15);
  EXPECT_GT(coco.fmeasure, f1.fmeasure);  // recall > precision here
  EXPECT_DOUBLE_EQ(rouge_l(content_words("a b"), content_words("c d"), kCocoBeta).fmeasure, 0.0);
  EXPECT_NEAR(mean_rouge_l_f({content_words("a b c d"), content_words("x")}, {content_words("a b e"), content_words("x")}, kCocoBeta),
              (coco.fmeasure + 1.0) / 2.0, 1e-15);
}

}  // namespace
}  // namespace radflow::ml::metrics
