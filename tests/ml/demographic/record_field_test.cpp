#include "plugins/demographic-correlation/record_field.h"

#include <gtest/gtest.h>

#include <cmath>

namespace radflow::ml::demographic {
namespace {

using nlohmann::json;

std::vector<eval::FeatureRow> rows_with_extra(const std::vector<json>& extras) {
  std::vector<eval::FeatureRow> rows;
  for (size_t i = 0; i < extras.size(); ++i) {
    eval::FeatureRow row;
    row.path = std::to_string(i);
    row.split = "train";
    row.extra = extras[i];
    rows.push_back(row);
  }
  return rows;
}

const RecordField* find(const FieldDiscovery& d, const std::string& name) {
  for (const auto& f : d.fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string skip_reason(const FieldDiscovery& d, const std::string& name) {
  for (const auto& s : d.skipped) {
    if (s.name == name) return s.reason;
  }
  return "";
}

TEST(RecordField, FindsSexAgeAndEveryKindOfExtraColumn) {
  std::vector<json> extras;
  const char* sites[] = {"a", "b", "c"};
  for (int i = 0; i < 12; ++i) {
    extras.push_back({{"bmi", 20.5 + i * 0.7},           // numeric
                      {"smoker", i % 2},                   // two numbers: categorical
                      {"site", sites[i % 3]},              // three labels
                      {"portable", i % 4 == 0},            // booleans
                      {"patient_id", 1000 + i},            // unique integers: an id
                      {"accession", "acc" + std::to_string(i)},  // unique labels: an id
                      {"scanner", "x"},                    // constant
                      {"mixed", i % 2 ? json(1) : json("one")},
                      {"many", std::to_string(i % 6)}});   // 6 classes > max_classes 5
  }
  auto rows = rows_with_extra(extras);
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].sex = i % 3 == 0 ? "" : (i % 2 ? "F" : "M");
    if (i != 4) rows[i].age = 30.0 + static_cast<double>(i);
  }
  const auto d = discover_fields(rows, 5);
  ASSERT_GE(d.fields.size(), 2u);
  EXPECT_EQ(d.fields[0].name, "sex");
  EXPECT_EQ(d.fields[0].classes, (std::vector<std::string>{"F", "M"}));
  EXPECT_EQ(d.fields[1].name, "age");
  ASSERT_NE(find(d, "bmi"), nullptr);
  EXPECT_EQ(find(d, "bmi")->kind, FieldKind::kNumeric);
  ASSERT_NE(find(d, "smoker"), nullptr);
  EXPECT_EQ(find(d, "smoker")->kind, FieldKind::kCategorical);
  EXPECT_EQ(find(d, "smoker")->classes, (std::vector<std::string>{"0", "1"}));
  ASSERT_NE(find(d, "site"), nullptr);
  EXPECT_EQ(find(d, "site")->classes.size(), 3u);
  ASSERT_NE(find(d, "portable"), nullptr);
  EXPECT_EQ(find(d, "portable")->classes, (std::vector<std::string>{"false", "true"}));
  EXPECT_EQ(d.fields.size(), 6u);
  EXPECT_NE(skip_reason(d, "patient_id").find("unique per row"), std::string::npos);
  EXPECT_NE(skip_reason(d, "accession").find("unique per row"), std::string::npos);
  EXPECT_NE(skip_reason(d, "scanner").find("constant"), std::string::npos);
  EXPECT_NE(skip_reason(d, "mixed").find("mixed"), std::string::npos);
  EXPECT_NE(skip_reason(d, "many").find("more than max_classes 5"), std::string::npos);

  const auto sex = class_targets(d.fields[0], rows);
  EXPECT_EQ(sex[0], -1);  // empty sex is unknown
  EXPECT_EQ(sex[1], 0);   // F
  EXPECT_EQ(sex[2], 1);   // M
  const auto age = numeric_targets(d.fields[1], rows);
  EXPECT_TRUE(std::isnan(age[4]));
  EXPECT_EQ(age[5], 35.0);
  const auto site = class_targets(*find(d, "site"), rows);
  EXPECT_EQ(site[4], 1);  // "b"
}

TEST(RecordField, UnknownValuesAreLeftOutAndNamesDoNotClash) {
  auto rows = rows_with_extra({{{"age", 1.5}, {"grade", "low"}},
                               {{"age", 2.5}, {"grade", nullptr}},
                               {{"age", 3.5}, {"grade", ""}},
                               {{"age", 4.5}, {"grade", "high"}}});
  rows[0].age = 50;
  const auto d = discover_fields(rows, 20);
  ASSERT_NE(find(d, "age"), nullptr);
  ASSERT_NE(find(d, "extra.age"), nullptr);  // the extra column does not shadow age
  EXPECT_EQ(find(d, "extra.age")->extra_key, "age");
  const auto extra_age = numeric_targets(*find(d, "extra.age"), rows);
  EXPECT_EQ(extra_age[2], 3.5);
  const auto grade = class_targets(*find(d, "grade"), rows);
  EXPECT_EQ(grade, (std::vector<int>{1, -1, -1, 0}));  // classes sorted: high, low
}

}  // namespace
}  // namespace radflow::ml::demographic
