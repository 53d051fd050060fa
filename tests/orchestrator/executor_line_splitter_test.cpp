// LineSplitter and line_text: pipe bytes to log lines, bounded, never split mid code point.
#include <gtest/gtest.h>

#include <string>

#include "common/utf8.h"
#include "orchestrator/executor/line_splitter.h"

namespace radflow {
namespace {

std::vector<SplitLine> feed_in_chunks(LineSplitter& splitter, const std::string& bytes,
                                      size_t chunk) {
  std::vector<SplitLine> lines;
  for (size_t at = 0; at < bytes.size(); at += chunk) {
    for (auto& line : splitter.append(std::string_view(bytes).substr(at, chunk))) {
      lines.push_back(std::move(line));
    }
  }
  return lines;
}

TEST(LineSplitter, SplitsAtNewlinesAcrossChunks) {
  LineSplitter splitter(100);
  auto lines = feed_in_chunks(splitter, "one\ntwo\n\nthree", 3);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].head, "one");
  EXPECT_EQ(lines[1].head, "two");
  EXPECT_EQ(lines[2].head, "");
  auto last = splitter.finish();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->head, "three");
  EXPECT_FALSE(last->truncated());
  EXPECT_FALSE(splitter.finish().has_value());
}

TEST(LineSplitter, ALongLineComesBackOnceTruncatedNeverAsFragments) {
  LineSplitter splitter(1000);
  const std::string bytes = std::string(5000, 'a') + "\nnext\n";
  for (size_t chunk : {1u, 7u, 999u, 4096u}) {
    auto lines = feed_in_chunks(splitter, bytes, chunk);
    ASSERT_EQ(lines.size(), 2u) << chunk;
    EXPECT_TRUE(lines[0].truncated());
    EXPECT_EQ(lines[0].size_bytes, 5000u);
    EXPECT_LE(lines[0].head.size(), 1004u);
    EXPECT_EQ(lines[1].head, "next");
  }
}

TEST(LineText, TruncatesWithTheLengthAndKeepsCodePointsWhole) {
  // é straddles the limit of 1000 bytes.
  const std::string line = std::string(999, 'x') + "\xc3\xa9" + std::string(3000, 'z');
  LineSplitter splitter(1000);
  auto lines = splitter.append(line + "\n");
  ASSERT_EQ(lines.size(), 1u);
  const std::string text = line_text(lines[0], 1000);
  EXPECT_LE(text.size(), 1000u);
  EXPECT_TRUE(is_valid_utf8(text));
  EXPECT_NE(text.find("[line truncated: 4001 bytes]"), std::string::npos) << text.substr(900);
}

TEST(LineText, RepairsIllFormedBytes) {
  SplitLine line{"a\xff\xfe" "b", 4};
  EXPECT_EQ(line_text(line, 100), "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  // Repair that outgrows the limit is cut too.
  SplitLine bad{std::string(100, '\xff'), 100};
  const std::string text = line_text(bad, 100);
  EXPECT_LE(text.size(), 100u);
  EXPECT_TRUE(is_valid_utf8(text));
}

TEST(LineText, ShortValidLinesAreUnchanged) {
  SplitLine line{"plain é line", 13};
  EXPECT_EQ(line_text(line, 100), "plain é line");
}

}  // namespace
}  // namespace radflow
