// Manifest CSV: column recognition, round trip, and errors naming file:line:column.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "plugins/ml/data/manifest.h"

namespace radflow::ml::data {
namespace {

Manifest sample_manifest() {
  Manifest m;
  Record a;
  a.path = "images/a.dcm";
  a.split = Split::kTrain;
  a.labels = {{"cardiomegaly", 1}, {"effusion", 0}};
  a.masks = {{"lungs", "masks/a/lungs.png"}};
  a.age = 54.5;
  a.sex = "F";
  a.report = "Heart size is enlarged, \"marked\".\nNo effusion.";
  a.extra = {{"site", "A, north"}};
  Record b;
  b.path = "images/b.dcm";
  b.split = Split::kTest;
  b.labels = {{"effusion", 1}};  // cardiomegaly unknown
  m.records = {a, b};
  return m;
}

TEST(ManifestCsv, RoundTripKeepsEveryField) {
  const Manifest m = sample_manifest();
  const std::string text = to_csv(m);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "path,split,age,sex,report,label:cardiomegaly,label:effusion,mask:lungs,site");
  auto back = parse_manifest_csv(text, "m.csv");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  ASSERT_EQ(back->records.size(), 2u);
  EXPECT_EQ(back->records[0], m.records[0]);
  EXPECT_EQ(back->records[1], m.records[1]);
  EXPECT_EQ(back->records[1].labels.count("cardiomegaly"), 0u);  // empty cell = unknown
  EXPECT_EQ(to_csv(*back), text);
}

TEST(ManifestCsv, ColumnsInAnyOrderAndUnknownColumnsGoToExtra) {
  auto m = parse_manifest_csv("label:nodule,site,split,path\n1,X,val,p.png\n", "m.csv");
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ(m->records[0].path, "p.png");
  EXPECT_EQ(m->records[0].split, Split::kVal);
  EXPECT_EQ(m->records[0].labels.at("nodule"), 1);
  EXPECT_EQ(m->records[0].extra.at("site"), "X");
}

TEST(ManifestCsv, BadCellsNameFileLineAndColumn) {
  struct Case { std::string text, path, words; };
  const Case cases[] = {
      {"path,split,age\na,train,1\nb,train,old\n", "m.csv:3:3", "'age'"},
      {"path,split\na,training\n", "m.csv:2:2", "not train, val or test"},
      {"path,split,label:x\na,val,2\n", "m.csv:2:3", "not 0, 1 or empty"},
      {"path,split,sex\na,val,X\n", "m.csv:2:3", "not F, M"},
      {"path,split\n,val\n", "m.csv:2:1", "empty path"},
      {"path,split,path\n", "m.csv:1:3", "duplicate column"},
      {"path,split,age\na,val,-3\n", "m.csv:2:3", "non-negative"},
  };
  for (const Case& c : cases) {
    auto m = parse_manifest_csv(c.text, "m.csv");
    ASSERT_FALSE(m.ok()) << c.text;
    EXPECT_EQ(m.status().code(), "manifest_invalid");
    EXPECT_EQ(m.status().err().path, c.path) << c.text;
    EXPECT_NE(m.status().message().find(c.words), std::string::npos) << m.status().message();
  }
}

TEST(ManifestCsv, WrongFieldCountAndMissingColumnsAreErrors) {
  auto short_row = parse_manifest_csv("path,split\na,train\nb\n", "m.csv");
  ASSERT_FALSE(short_row.ok());
  EXPECT_EQ(short_row.status().err().path, "m.csv:3");
  EXPECT_FALSE(parse_manifest_csv("split\ntrain\n", "m.csv").ok());
  EXPECT_FALSE(parse_manifest_csv("path\na\n", "m.csv").ok());  // split required by default
  auto optional = parse_manifest_csv("path\na\n", "m.csv", {SplitRule::kOptional});
  ASSERT_TRUE(optional.ok());
  EXPECT_EQ(optional->records[0].split, Split::kUnassigned);
}

TEST(ManifestCsv, ReadResolvesPathsAgainstTheManifestFolder) {
  std::string pattern = (std::filesystem::temp_directory_path() / "rf-data-XXXXXX").string();
  const std::string dir = ::mkdtemp(pattern.data());
  std::filesystem::create_directories(dir + "/images");
  std::ofstream(dir + "/images/a.dcm") << "x";
  std::ofstream(dir + "/m.csv") << "path,split\nimages/a.dcm,train\n/abs/b.dcm,val\n";
  auto m = read_manifest(dir + "/m.csv");
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ(m->resolve(m->records[0].path), dir + "/images/a.dcm");
  EXPECT_EQ(m->resolve(m->records[1].path), "/abs/b.dcm");
  Status missing = validate_manifest(*m, FileCheck::kMustExist);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("record 1"), std::string::npos) << missing.message();
  m->records.pop_back();
  EXPECT_TRUE(validate_manifest(*m, FileCheck::kMustExist).ok());
  m->records.push_back(m->records[0]);
  EXPECT_NE(validate_manifest(*m).message().find("listed twice"), std::string::npos);

  ASSERT_TRUE(write_manifest(*m, dir + "/copy.jsonl", ManifestFormat::kJsonl).ok());
  auto copy = read_manifest(dir + "/copy.jsonl");
  ASSERT_TRUE(copy.ok()) << copy.status().to_string();
  EXPECT_EQ(copy->records.size(), 2u);
  EXPECT_EQ(read_manifest(dir + "/nope.csv").status().code(), "manifest_io");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace radflow::ml::data
