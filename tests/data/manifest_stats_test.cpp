// Manifest statistics and seeded split assignment.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "plugins/ml/data/manifest_stats.h"
#include "plugins/ml/data/split_assignment.h"

namespace radflow::ml::data {
namespace {

Record make(const std::string& path, Split split, int label, std::optional<double> age, std::string sex) {
  Record r;
  r.path = path;
  r.split = split;
  if (label >= 0) r.labels["x"] = label;
  r.age = age;
  r.sex = std::move(sex);
  return r;
}

TEST(ManifestStats, CountsPerSplitLabelAgeAndSex) {
  Manifest m;
  m.records = {make("a", Split::kTrain, 1, 20, "F"), make("b", Split::kTrain, 0, 40, "M"),
               make("c", Split::kVal, 1, std::nullopt, ""), make("d", Split::kTest, -1, 60, "F")};
  m.records[0].masks["lungs"] = "l.png";
  const ManifestStats s = compute_stats(m);
  EXPECT_EQ(s.images, 4);
  EXPECT_EQ(s.per_split.at("train"), 2);
  EXPECT_EQ(s.per_split.at("val"), 1);
  EXPECT_EQ(s.labels.at("x").at("all").labelled, 3);
  EXPECT_EQ(s.labels.at("x").at("all").positives, 2);
  EXPECT_EQ(s.labels.at("x").at("train").positives, 1);
  EXPECT_EQ(s.labels.at("x").count("test"), 0u);
  EXPECT_EQ(s.masks.at("lungs"), 1);
  EXPECT_EQ(s.age_count, 3);
  EXPECT_DOUBLE_EQ(s.age_mean, 40.0);
  EXPECT_NEAR(s.age_std, std::sqrt(800.0 / 3.0), 1e-12);
  EXPECT_EQ(s.sex.at("F"), 2);
  EXPECT_EQ(s.sex.at("unknown"), 1);
  const nlohmann::json j = to_json(s);
  EXPECT_DOUBLE_EQ(j["labels"]["x"]["train"]["prevalence"].get<double>(), 0.5);
  EXPECT_EQ(j["per_split"]["test"], 1);
}

TEST(SplitAssignment, ExactProportionsSeededAndKeepsGivenSplits) {
  Manifest m;
  for (int i = 0; i < 100; ++i) m.records.push_back(make("p" + std::to_string(i), Split::kUnassigned, -1, {}, ""));
  m.records[0].split = Split::kTest;
  Manifest again = m;
  ASSERT_TRUE(assign_missing_splits(m, {0.6, 0.2, 0.2}, 7).ok());
  ASSERT_TRUE(assign_missing_splits(again, {0.6, 0.2, 0.2}, 7).ok());
  EXPECT_EQ(m.records, again.records);
  const ManifestStats s = compute_stats(m);
  EXPECT_EQ(s.per_split.at("train"), 59);  // 99 unassigned: round(59.4)
  EXPECT_EQ(s.per_split.at("val"), 20);
  EXPECT_EQ(s.per_split.at("test"), 21);
  EXPECT_EQ(m.records[0].split, Split::kTest);
  Manifest other = again;
  for (auto& r : other.records) r.split = Split::kUnassigned;
  ASSERT_TRUE(assign_missing_splits(other, {0.6, 0.2, 0.2}, 8).ok());
  EXPECT_NE(other.records, m.records);
  EXPECT_FALSE(assign_missing_splits(m, {0, 0, 0}, 1).ok());
}

// 100 patients with 1 to 4 images each; a rare finding on 20 of them. No patient is in
// two splits, a given split pulls the patient's other images along, the split report
// counts patients and images, and the rare finding lands in every split near its share.
TEST(SplitAssignment, ByPatientStratifiedAndAGivenSplitWins) {
  Manifest m;
  for (int p = 0; p < 100; ++p) {
    for (int k = 0; k <= p % 4; ++k) {
      Record r = make("p" + std::to_string(p) + "-" + std::to_string(k), Split::kUnassigned, p % 5 == 0, {}, "");
      r.extra[p % 2 ? "patient_id" : "subject_id"] = "patient-" + std::to_string(p);
      m.records.push_back(std::move(r));
    }
  }
  m.records[1].split = Split::kTest;  // patient-1's first image; its second must follow
  ASSERT_TRUE(assign_missing_splits(m, {0.7, 0.15, 0.15}, 3).ok());
  std::map<std::string, std::set<Split>> splits;
  std::map<Split, int> positives;
  for (const Record& r : m.records) {
    splits[patient_key(r)].insert(r.split);
    positives[r.split] += r.labels.at("x");
  }
  for (const auto& [patient, in] : splits) EXPECT_EQ(in.size(), 1u) << patient;
  EXPECT_EQ(*splits["patient-1"].begin(), Split::kTest);
  const ManifestStats s = compute_stats(m);
  EXPECT_EQ(s.patients, 100);
  EXPECT_EQ(s.patients_in_several_splits, 0);
  EXPECT_EQ(s.images, 250);
  EXPECT_NEAR(s.per_split.at("train"), 0.7 * 250, 4);
  EXPECT_NEAR(s.per_split.at("val"), 0.15 * 250, 4);
  const int total_positives = positives[Split::kTrain] + positives[Split::kVal] + positives[Split::kTest];
  EXPECT_NEAR(positives[Split::kVal], 0.15 * total_positives, 2.5) << "stratified by the finding";
  EXPECT_NEAR(positives[Split::kTest], 0.15 * total_positives, 2.5);
  const nlohmann::json report = to_json(s)["split_report"];
  EXPECT_EQ(report["train"]["patients"].get<int>() + report["val"]["patients"].get<int>() +
                report["test"]["patients"].get<int>(), 100);
  EXPECT_EQ(report["train"]["images"], s.per_split.at("train"));
  // A table that puts one patient in two splits is kept as given, and counted.
  m.records[2].split = Split::kVal;  // patient-1's second image
  EXPECT_EQ(compute_stats(m).patients_in_several_splits, 1);
}

}  // namespace
}  // namespace radflow::ml::data
