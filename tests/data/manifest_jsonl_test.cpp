// Manifest JSONL: same fields as CSV, errors naming file:line:field.
#include <gtest/gtest.h>

#include "plugins/ml/data/manifest.h"

namespace radflow::ml::data {
namespace {

TEST(ManifestJsonl, RoundTripAndAgreementWithCsv) {
  Manifest m;
  Record r;
  r.path = "a.dcm";
  r.split = Split::kVal;
  r.labels = {{"nodule", 1}, {"effusion", 0}};
  r.masks = {{"nodule", "masks/a/nodule.png"}};
  r.age = 71;
  r.sex = "M";
  r.report = "Line one.\nQuote \" and comma, here.";
  r.extra = {{"k", "v"}};
  m.records = {r, r};
  m.records[1].path = "b.dcm";
  m.records[1].age.reset();
  m.records[1].sex.clear();
  auto back = parse_manifest_jsonl(to_jsonl(m), "m.jsonl");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  ASSERT_EQ(back->records.size(), 2u);
  EXPECT_EQ(back->records[0], m.records[0]);
  EXPECT_EQ(back->records[1], m.records[1]);
  auto via_csv = parse_manifest_csv(to_csv(*back), "m.csv");
  ASSERT_TRUE(via_csv.ok());
  EXPECT_EQ(via_csv->records, back->records);
}

TEST(ManifestJsonl, ErrorsNameLineAndField) {
  struct Case { std::string text, path; };
  const Case cases[] = {
      {"{\"path\":\"a\",\"split\":\"train\"}\n\n{\"path\":\"b\",\"split\":\"train\",\"age\":\"x\"}\n", "m.jsonl:3:age"},
      {"{\"path\":\"a\",\"split\":\"train\",\"labels\":{\"n\":3}}\n", "m.jsonl:1:labels.n"},
      {"{\"path\":\"a\",\"split\":\"train\",\"lables\":{}}\n", "m.jsonl:1:lables"},
      {"{\"path\":\"a\",\"split\":\"train\"}\n{not json\n", "m.jsonl:2:"},
      {"{\"split\":\"train\"}\n", "m.jsonl:1:path"},
      {"{\"path\":\"a\"}\n", "m.jsonl:1:split"},
      {"[1,2]\n", "m.jsonl:1:"},
  };
  for (const Case& c : cases) {
    auto m = parse_manifest_jsonl(c.text, "m.jsonl");
    ASSERT_FALSE(m.ok()) << c.text;
    EXPECT_EQ(m.status().code(), "manifest_invalid");
    EXPECT_EQ(m.status().err().path, c.path) << m.status().message();
  }
  EXPECT_TRUE(parse_manifest_jsonl("{\"path\":\"a\"}\r\n", "m.jsonl", {SplitRule::kOptional}).ok());
}

}  // namespace
}  // namespace radflow::ml::data
