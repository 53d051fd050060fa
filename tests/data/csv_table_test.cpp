// RFC 4180 corner cases of the manifest's CSV reader and writer.
#include <gtest/gtest.h>

#include "plugins/ml/data/csv_table.h"

namespace radflow::ml::data {
namespace {

TEST(CsvTable, ParsesQuotedFieldsWithCommasQuotesAndNewlines) {
  auto rows = parse_csv("a,b\r\n\"x, y\",\"say \"\"hi\"\"\nthere\"\nlast,\n", "t.csv");
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[1].fields, (std::vector<std::string>{"x, y", "say \"hi\"\nthere"}));
  EXPECT_EQ((*rows)[1].line, 2);
  EXPECT_EQ((*rows)[2].line, 4);  // the quoted newline moved it down one line
  EXPECT_EQ((*rows)[2].fields, (std::vector<std::string>{"last", ""}));
}

TEST(CsvTable, SkipsBomAndBlankLinesAndReadsLastLineWithoutNewline) {
  auto rows = parse_csv("\xEF\xBB\xBFh\n\n1\n\n2", "t.csv");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].fields[0], "h");
  EXPECT_EQ((*rows)[2].fields[0], "2");
  EXPECT_EQ((*rows)[2].line, 5);
}

TEST(CsvTable, UnterminatedQuoteIsReportedWhereItOpens) {
  auto rows = parse_csv("a,b\n1,\"open\nstill open\n", "t.csv");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().err().path, "t.csv:2:2");
  EXPECT_NE(rows.status().message().find("never closed"), std::string::npos);
}

TEST(CsvTable, StrayQuotesAreErrorsWithTheirColumn) {
  auto inside = parse_csv("a,b,c\n1,ab\"c,3\n", "t.csv");
  ASSERT_FALSE(inside.ok());
  EXPECT_EQ(inside.status().err().path, "t.csv:2:2");
  auto after = parse_csv("a\n\"x\"y\n", "t.csv");
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().err().path, "t.csv:2:1");
}

TEST(CsvTable, WriterQuotesOnlyWhenNeededAndRoundTrips) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
  EXPECT_EQ(csv_field(" padded"), "\" padded\"");
  const std::vector<std::string> fields = {"a,b", "q\"q", "multi\nline", "", " s "};
  auto rows = parse_csv(csv_line(fields), "t.csv");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].fields, fields);
}

}  // namespace
}  // namespace radflow::ml::data
