#include "common/utf8.h"

#include <gtest/gtest.h>

#include <random>

namespace radflow {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, ValidTextIsUnchanged) {
  const std::string text = "plain ascii, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80";
  EXPECT_TRUE(is_valid_utf8(text));
  EXPECT_EQ(to_valid_utf8(text), text);
  EXPECT_TRUE(is_valid_utf8(""));
}

TEST(Utf8, IllFormedSequencesBecomeReplacementCharacters) {
  EXPECT_EQ(to_valid_utf8("a\xFF" "b"), "a" + kFffd + "b");
  EXPECT_EQ(to_valid_utf8("\xC0\xAF"), kFffd + kFffd);             // overlong '/'
  EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate
  EXPECT_EQ(to_valid_utf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
  // A sequence cut short is one replacement (its maximal subpart), then the rest.
  EXPECT_EQ(to_valid_utf8("\xE2\x82" "x"), kFffd + "x");
  EXPECT_EQ(to_valid_utf8("end\xF0\x9F\x98"), "end" + kFffd);
  EXPECT_FALSE(is_valid_utf8("\x80"));
}

TEST(Utf8, RandomBytesAlwaysComeOutValid) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(rng() % 64, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng() & 0xFF);
    const std::string clean = to_valid_utf8(bytes);
    ASSERT_TRUE(is_valid_utf8(clean)) << round;
    EXPECT_EQ(to_valid_utf8(clean), clean);
  }
}

TEST(Utf8, TruncationNeverSplitsACodePointAndSaysItCut) {
  const std::string euro = "\xE2\x82\xAC";
  std::string text;
  for (int i = 0; i < 100; ++i) text += euro;
  for (size_t max = 12; max < 40; ++max) {
    const std::string cut = truncate_utf8(text, max, " [cut]");
    EXPECT_LE(cut.size(), max);
    EXPECT_TRUE(is_valid_utf8(cut)) << max;
    EXPECT_EQ(cut.substr(cut.size() - 6), " [cut]");
  }
  EXPECT_EQ(truncate_utf8("short", 100), "short");
}

}  // namespace
}  // namespace radflow
