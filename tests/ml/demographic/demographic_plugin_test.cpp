// The demographic-correlation plugin through the real radflow-worker: an encoder whose
// features carry sex, age and the extra columns reads them nearly perfectly, a random
// one does not and the table ranks it second; every reported metric is recomputed
// from predictions.jsonl; bad inputs end with a clear message or a reported NaN.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "plugins/ml/eval/feature_set.h"
#include "plugins/ml/metrics/auroc.h"
#include "plugins/ml/metrics/regression.h"
#include "tests/data/plugin_runner.h"

namespace radflow::ml::eval {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// Rows whose record is read off the "good" features: age = 50 + 10 x0 + 5 x1 exactly,
// sex from x2, bmi from x3, site from the largest of x4..x6; smoker is noise.
// patient_id is unique per row and view constant: both must be skipped.
FeatureSet good_set(int64_t n) {
  auto gen = at::detail::createCPUGenerator(11);
  FeatureSet set;
  set.cls = torch::randn({n, 8}, gen);
  set.mean_patch = torch::randn({n, 8}, gen);
  auto noise = torch::randn({n, 2}, gen);
  auto x = set.cls.accessor<float, 2>();
  for (int64_t i = 0; i < n; ++i) {
    FeatureRow row;
    row.path = "images/" + std::to_string(i) + ".png";
    row.split = i % 10 < 6 ? "train" : i % 10 < 8 ? "val" : "test";
    row.age = 50.0 + 10.0 * x[i][0] + 5.0 * x[i][1];
    row.sex = x[i][2] + 0.2f * noise[i][0].item<float>() > 0 ? "M" : "F";
    const char* site = x[i][4] > std::max(x[i][5], x[i][6]) ? "a" : x[i][5] > x[i][6] ? "b" : "c";
    row.extra = {{"bmi", 25.0 + 3.0 * x[i][3]}, {"site", site},
                 {"smoker", noise[i][1].item<float>() > 0 ? "yes" : "no"},
                 {"patient_id", 5000 + i}, {"view", "PA"}};
    set.rows.push_back(row);
  }
  set.meta = {{"encoder", "good"}};
  return set;
}

FeatureSet random_set(const FeatureSet& good) {
  auto gen = at::detail::createCPUGenerator(12);
  FeatureSet set = good;
  set.cls = torch::randn(good.cls.sizes(), gen);
  set.mean_patch = torch::randn(good.mean_patch.sizes(), gen);
  set.meta = {{"encoder", "random"}};
  return set;
}

using test::PluginRun;

// One demographic-correlation attempt in DIR (spec.json, out/).
PluginRun run_plugin(const std::string& dir, const json& inputs, const json& params) {
  return test::run_plugin("demographic-correlation", params, inputs, dir + "/out", dir + "/spec.json");
}

bool has_log(const PluginRun& run, const std::string& level, const std::string& text) {
  for (const auto& e : run.events) {
    if (e.value("type", "") == "log" && e.value("level", "") == level &&
        e.value("message", "").find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

const json kFastParams = {{"bootstrap", 100}, {"weight_decays", {1e-4, 1e-2}}, {"seed", 3}};

// One run of two encoders, shared by the tests that read its outputs.
class TwoEncoders : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "rf-demographic-XXXXXX").string();
    dir_ = new std::string(::mkdtemp(pattern.data()));
    const FeatureSet good = good_set(400);
    ASSERT_TRUE(write_feature_set(*dir_ + "/good", good).ok());
    ASSERT_TRUE(write_feature_set(*dir_ + "/random", random_set(good)).ok());
    run_ = new PluginRun(run_plugin(*dir_, {{"features", *dir_ + "/good"}, {"features_2", *dir_ + "/random"}},
                              kFastParams));
    std::ifstream report(*dir_ + "/out/report.json");
    if (report) report_ = new json(json::parse(report));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete run_;
    delete report_;
  }
  void SetUp() override {
    ASSERT_EQ(run_->end["status"], "succeeded") << run_->end.dump();
    ASSERT_NE(report_, nullptr);
  }
  // report.json's entry for one encoder and field.
  static const json& field(const std::string& encoder, const std::string& name) {
    for (const auto& e : (*report_)["encoders"]) {
      if (e["name"] != encoder) continue;
      for (const auto& f : e["fields"]) {
        if (f["field"] == name) return f;
      }
    }
    static const json missing;
    return missing;
  }
  static double value(const std::string& encoder, const std::string& name, const std::string& metric) {
    const auto& v = field(encoder, name)["metrics"][metric]["value"];
    return v.is_number() ? v.get<double>() : std::nan("");
  }
  static std::string* dir_;
  static PluginRun* run_;
  static json* report_;
};
std::string* TwoEncoders::dir_ = nullptr;
PluginRun* TwoEncoders::run_ = nullptr;
json* TwoEncoders::report_ = nullptr;

TEST_F(TwoEncoders, GoodFeaturesReadTheRecordAndTheTableRanksThemFirst) {
  EXPECT_GT(value("good", "sex", "auroc"), 0.97);
  EXPECT_GT(value("good", "age", "r2"), 0.99);
  EXPECT_GT(value("good", "age", "pearson"), 0.99);
  EXPECT_LT(value("good", "age", "mae"), 1.0);  // age spans about 50 ± 30 years
  EXPECT_GT(value("good", "bmi", "r2"), 0.99);
  EXPECT_GT(value("good", "site", "auroc"), 0.9);
  EXPECT_LT(value("random", "sex", "auroc"), 0.7);
  EXPECT_LT(value("random", "age", "r2"), 0.2);
  EXPECT_GT(value("random", "age", "mae"), 5.0);
  const auto& ci = field("good", "age")["metrics"]["r2"]["ci"];
  EXPECT_LE(ci[0].get<double>(), value("good", "age", "r2"));
  EXPECT_GE(ci[1].get<double>(), value("good", "age", "r2"));
  EXPECT_EQ(field("good", "sex")["positive_class"], "M");
  EXPECT_EQ(field("good", "site")["class_auroc"].size(), 3u);

  const auto& table = (*report_)["table"];
  EXPECT_EQ(table["ranking"], json({"good", "random"}));
  // First on sex, age, bmi and site; the noise column smoker may go either way.
  EXPECT_LE(table["mean_rank"]["good"].get<double>(), 1.2);
  for (const auto& row : table["rows"]) {
    if (row["field"] != "smoker") {
      EXPECT_EQ(row["best"], "good") << row.dump();
    }
  }
  std::ifstream md_file(*dir_ + "/out/table.md");
  std::string md((std::istreambuf_iterator<char>(md_file)), std::istreambuf_iterator<char>());
  EXPECT_NE(md.find("| field | metric | good | random | best |"), std::string::npos) << md;
  EXPECT_NE(md.find("| age | R² ↑ |"), std::string::npos) << md;

  std::map<std::string, double> metrics;
  for (const auto& e : run_->events) {
    if (e.value("type", "") == "metric" && e["value"].is_number()) metrics[e["name"]] = e["value"];
  }
  for (const char* name : {"good.sex_auroc", "good.age_r2", "good.age_mae", "good.age_pearson",
                           "random.sex_accuracy", "good.site_auroc", "good.bmi_r2", "good.mean_rank"}) {
    EXPECT_EQ(metrics.count(name), 1u) << name;
  }
  EXPECT_EQ(metrics["good.age_r2"], value("good", "age", "r2"));
  // Each with its interval, as the dashboard's step page shows it: NAME.low, NAME.high.
  ASSERT_EQ(metrics.count("good.age_r2.low"), 1u);
  ASSERT_EQ(metrics.count("good.age_r2.high"), 1u);
  EXPECT_EQ(metrics["good.age_r2.low"], ci[0].get<double>());
  EXPECT_EQ(metrics["good.age_r2.high"], ci[1].get<double>());
}

TEST_F(TwoEncoders, ExtraColumnsAreFoundAndIdentifiersSkippedWithALogLine) {
  std::vector<std::string> names;
  for (const auto& f : (*report_)["fields"]) names.push_back(f["field"]);
  EXPECT_EQ(names, (std::vector<std::string>{"sex", "age", "bmi", "site", "smoker"}));
  std::map<std::string, std::string> skipped;
  for (const auto& s : (*report_)["skipped"]) skipped[s["field"]] = s["reason"];
  EXPECT_NE(skipped["patient_id"].find("unique per row"), std::string::npos);
  EXPECT_NE(skipped["view"].find("constant"), std::string::npos);
  EXPECT_TRUE(has_log(*run_, "info", "skipping column patient_id: unique per row"));
  EXPECT_LT(value("good", "smoker", "auroc"), 0.75);  // noise stays noise
}

TEST_F(TwoEncoders, ReportedMetricsRecomputeExactlyFromThePredictions) {
  // (encoder, field) -> the lines of predictions.jsonl
  std::map<std::pair<std::string, std::string>, std::vector<json>> lines;
  std::ifstream predictions(*dir_ + "/out/predictions.jsonl");
  std::string line;
  while (std::getline(predictions, line)) {
    json p = json::parse(line);
    EXPECT_TRUE(p.contains("path"));
    lines[{p["encoder"], p["field"]}].push_back(p);
  }
  int checked = 0;
  for (const auto& e : (*report_)["encoders"]) {
    for (const auto& f : e["fields"]) {
      const auto& samples = lines[{e["name"], f["field"]}];
      ASSERT_EQ(static_cast<int>(samples.size()), f["test_count"].get<int>()) << f.dump();
      std::map<std::string, double> recomputed;
      if (f["kind"] == "numeric") {
        std::vector<double> truth, pred;
        for (const auto& s : samples) {
          truth.push_back(s["truth"]);
          pred.push_back(s["prediction"]);
        }
        recomputed = {{"r2", metrics::r2(truth, pred)}, {"mae", metrics::mae(truth, pred)},
                      {"pearson", metrics::pearson_r(truth, pred)}};
      } else {
        const auto classes = f["classes"].get<std::vector<std::string>>();
        double correct = 0, auroc_sum = 0;
        int auroc_count = 0;
        for (const auto& s : samples) correct += s["truth"] == s["prediction"];
        const bool binary = classes.size() == 2;
        for (size_t c = binary ? 1 : 0; c < classes.size(); ++c) {
          std::vector<double> scores;
          std::vector<int> labels;
          for (const auto& s : samples) {
            scores.push_back(binary ? s["score"].get<double>() : s["scores"][classes[c]].get<double>());
            labels.push_back(s["truth"] == classes[c]);
          }
          const double a = metrics::auroc(scores, labels);
          if (std::isfinite(a)) auroc_sum += a, ++auroc_count;
        }
        recomputed = {{"auroc", auroc_sum / auroc_count}, {"accuracy", correct / samples.size()}};
      }
      for (const auto& [metric, v] : recomputed) {
        EXPECT_EQ(f["metrics"][metric]["value"].get<double>(), v) << e["name"] << " " << f["field"] << " " << metric;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 2 * (2 + 3 + 3 + 2 + 2));  // two encoders; sex, age, bmi, site, smoker
}

class DemographicBadInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rf-demographic-bad-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(DemographicBadInputs, OneClassInTheTestSplitIsANanWithAWarning) {
  FeatureSet set = good_set(120);
  for (auto& row : set.rows) {
    if (row.split == "test") row.sex = "M";
  }
  ASSERT_TRUE(write_feature_set(dir_ + "/f", set).ok());
  json params = kFastParams;
  params["fields"] = {"sex", "age"};
  params["names"] = {"only"};
  PluginRun run = run_plugin(dir_, {{"features", dir_ + "/f"}}, params);
  ASSERT_EQ(run.end["status"], "succeeded") << run.end.dump();
  std::ifstream file(dir_ + "/out/report.json");
  json report = json::parse(file);
  const auto& sex = report["encoders"][0]["fields"][0];
  EXPECT_EQ(report["encoders"][0]["name"], "only");
  EXPECT_TRUE(sex["metrics"]["auroc"]["value"].is_null());
  EXPECT_NE(sex["warning"].get<std::string>().find("sex has one class in the test split"), std::string::npos);
  EXPECT_TRUE(has_log(run, "warning", "one class in the test split"));
  EXPECT_TRUE(report["encoders"][0]["fields"][1]["metrics"]["r2"]["value"].is_number());
  EXPECT_EQ(report["fields"].size(), 2u);
}

TEST_F(DemographicBadInputs, ClearErrorsForEmptySplitsDifferentRowsAndUnknownFields) {
  FeatureSet set = good_set(60);
  ASSERT_TRUE(write_feature_set(dir_ + "/a", set).ok());
  FeatureSet shorter = random_set(good_set(50));
  ASSERT_TRUE(write_feature_set(dir_ + "/short", shorter).ok());
  FeatureSet renamed = random_set(set);
  renamed.rows[7].path = "elsewhere.png";
  ASSERT_TRUE(write_feature_set(dir_ + "/renamed", renamed).ok());
  FeatureSet no_val = set;
  for (auto& row : no_val.rows) {
    if (row.split == "val") row.split = "train";
  }
  ASSERT_TRUE(write_feature_set(dir_ + "/no_val", no_val).ok());

  auto message = [&](const json& inputs, const json& params) {
    PluginRun run = run_plugin(dir_, inputs, params);
    EXPECT_EQ(run.end["status"], "failed") << run.end.dump();
    return run.end.value("message", "");
  };
  std::string m = message({{"features", dir_ + "/a"}, {"features_3", dir_ + "/short"}}, kFastParams);
  EXPECT_NE(m.find("feature sets features (\"good\") and features_3 (\"random\") have different rows: 60 vs 50"),
            std::string::npos) << m;
  m = message({{"features", dir_ + "/a"}, {"features_2", dir_ + "/renamed"}}, kFastParams);
  EXPECT_NE(m.find("row 7 is images/7.png (val) in features but elsewhere.png (val) in features_2"),
            std::string::npos) << m;
  m = message({{"features", dir_ + "/no_val"}}, kFastParams);
  EXPECT_NE(m.find("empty_split: the val split has no samples"), std::string::npos) << m;
  json params = kFastParams;
  params["fields"] = {"weight"};
  m = message({{"features", dir_ + "/a"}}, params);
  EXPECT_NE(m.find("field \"weight\" is not a record field"), std::string::npos) << m;
  params["fields"] = {"patient_id"};
  m = message({{"features", dir_ + "/a"}}, params);
  EXPECT_NE(m.find("field \"patient_id\" cannot be probed: unique per row"), std::string::npos) << m;
  params = kFastParams;
  params["names"] = {"x", "y"};
  m = message({{"features", dir_ + "/a"}}, params);
  EXPECT_NE(m.find("param names has 2 entries but 1 feature set(s) are bound"), std::string::npos) << m;
}

}  // namespace
}  // namespace radflow::ml::eval
