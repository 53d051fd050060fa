// The decoder's word vocabulary: specials first, min_count, <unk>, and decode()
// output that re-tokenizes to exactly the decoded words.
#include <gtest/gtest.h>

#include "plugins/ml/metrics/text_tokenizer.h"
#include "plugins/report-gen/report_vocabulary.h"

namespace radflow::report_gen {
namespace {

TEST(ReportVocabularyTest, SpecialsThenWordsByCountWithMinCount) {
  auto vocab = ReportVocabulary::build({"No effusion.", "Small effusion.", "No pneumothorax."}, 2);
  ASSERT_EQ(vocab.size(), 7);  // 4 specials + "." (3) + effusion (2) + no (2)
  EXPECT_EQ(vocab.token(0), "<pad>");
  EXPECT_EQ(vocab.token(1), "<bos>");
  EXPECT_EQ(vocab.token(2), "<eos>");
  EXPECT_EQ(vocab.token(3), "<unk>");
  EXPECT_EQ(vocab.token(4), ".");
  EXPECT_EQ(vocab.token(5), "effusion");
  EXPECT_EQ(vocab.token(6), "no");
  EXPECT_EQ(vocab.id("pneumothorax"), ReportVocabulary::kUnk);
  EXPECT_EQ(vocab.id("<eos>"), ReportVocabulary::kUnk);  // specials are not words
  EXPECT_EQ(vocab.encode("No pneumothorax.", 80), (std::vector<int64_t>{1, 6, 3, 4, 2}));
  EXPECT_EQ(vocab.encode("No pneumothorax.", 3), (std::vector<int64_t>{1, 6, 3}));
  EXPECT_EQ(vocab.to_json()["size"], 7);
}

TEST(ReportVocabularyTest, DecodeGluesPunctuationAndRoundTrips) {
  const std::string report = "Heart size is normal. A 3.5 mm nodule, right (upper) zone.";
  auto vocab = ReportVocabulary::build({report}, 1);
  auto ids = vocab.encode(report, 80);
  const std::string text = vocab.decode(ids);
  EXPECT_EQ(text, "heart size is normal. a 3. 5 mm nodule, right( upper) zone.");
  EXPECT_EQ(ml::metrics::tokenize(text), ml::metrics::tokenize(report));
  // Decoding stops at <eos> and skips the other specials.
  EXPECT_EQ(vocab.decode({ReportVocabulary::kBos, vocab.id("heart"), ReportVocabulary::kUnk,
                          ReportVocabulary::kEos, vocab.id("zone")}),
            "heart");
}

}  // namespace
}  // namespace radflow::report_gen
