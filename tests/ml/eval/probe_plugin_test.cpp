// The probe plugin through the real radflow-worker: it reads a feature set, reports
// per-finding metrics, and its per-sample predictions recompute exactly the reported
// numbers. Bad inputs end the attempt with a clear message or a reported NaN.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "plugins/ml/eval/feature_set.h"
#include "plugins/ml/metrics/auroc.h"
#include "plugins/ml/metrics/average_precision.h"
#include "tests/worker/worker_process.h"

namespace radflow::ml::eval {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// 3 findings over 16-d features: "effusion" readable from the CLS token, "nodule"
// from the mean patch token only, "rare" has no positive in the test split.
FeatureSet synthetic_set(int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  FeatureSet set;
  set.cls = torch::randn({n, 16}, gen);
  set.mean_patch = torch::randn({n, 16}, gen);
  auto noise = torch::randn({n}, gen);
  for (int64_t i = 0; i < n; ++i) {
    FeatureRow row;
    row.path = "images/" + std::to_string(i) + ".dcm";
    row.split = i % 10 < 6 ? "train" : i % 10 < 8 ? "val" : "test";
    row.labels["effusion"] = set.cls[i][0].item<float>() + 0.3f * noise[i].item<float>() > 0;
    row.labels["nodule"] = set.mean_patch[i][3].item<float>() > 0.4f;
    row.labels["rare"] = row.split == "test" ? 0 : static_cast<int>(i % 7 == 0);
    row.age = 40 + static_cast<double>(i % 30);
    row.sex = i % 2 ? "F" : "M";
    set.rows.push_back(row);
  }
  set.meta = {{"encoder", "synthetic"}};
  return set;
}

class ProbePluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rf-probe-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(dir_); }

  json run_probe(const std::string& features, json params) {
    json spec = {{"plugin_path", std::string(RADFLOW_PLUGIN_DIR) + "/probe.so"},
                 {"plugin_dir", RADFLOW_PLUGIN_DIR},
                 {"plugin_name", "probe"},
                 {"params", params},
                 {"inputs", {{"features", features}}},
                 {"output_dir", dir_ + "/out"}};
    const std::string spec_path = dir_ + "/spec.json";
    std::ofstream(spec_path) << spec.dump();
    test::WorkerProcess worker({"--attempt", spec_path});
    worker.read_all();
    worker.wait();
    metrics_.clear();
    for (const auto& e : worker.events()) {
      if (e.value("type", "") == "metric" && e["value"].is_number()) metrics_[e["name"]] = e["value"];
    }
    return worker.end_event();
  }
  std::string dir_;
  std::map<std::string, double> metrics_;  // the last run's recorded metrics (finite ones)
};

TEST_F(ProbePluginTest, ReportedMetricsAgreeWithThePredictionsArtifact) {
  ASSERT_TRUE(write_feature_set(dir_ + "/features", synthetic_set(1000, 5)).ok());
  json end = run_probe(dir_ + "/features", {{"bootstrap", 100}, {"weight_decays", {1e-4, 1e-2}}});
  ASSERT_EQ(end["status"], "succeeded") << end.dump();
  std::ifstream report_file(dir_ + "/out/report.json");
  json report = json::parse(report_file);
  std::map<std::string, json> by_name;
  for (const auto& f : report["findings"]) by_name[f["finding"]] = f;
  EXPECT_GT(by_name["effusion"]["auroc"].get<double>(), 0.9);
  EXPECT_GT(by_name["nodule"]["auroc"].get<double>(), 0.9);  // needs the mean patch token
  EXPECT_TRUE(by_name["rare"]["auroc"].is_null());
  EXPECT_NE(by_name["rare"]["warning"].get<std::string>().find("one class in the test split"),
            std::string::npos);
  EXPECT_EQ(report["macro_findings"], 2);
  // Each finding's figures are recorded with their report.json interval as NAME.low and
  // NAME.high (what the dashboard's step page shows); a NaN figure gets no bounds.
  for (const char* name : {"effusion", "nodule"}) {
    for (const char* metric : {"auroc", "auprc"}) {
      const std::string key = std::string(metric) + "." + name;
      const json& ci = by_name[name][std::string(metric) + "_ci"];
      ASSERT_EQ(metrics_.count(key + ".low"), 1u) << key;
      EXPECT_EQ(metrics_[key], by_name[name][metric].get<double>()) << key;
      EXPECT_EQ(metrics_[key + ".low"], ci[0].get<double>()) << key;
      EXPECT_EQ(metrics_[key + ".high"], ci[1].get<double>()) << key;
    }
  }
  EXPECT_EQ(metrics_.count("auroc.rare.low"), 0u);

  // Recompute every finding's AUROC and AUPRC from predictions.csv.
  std::map<std::string, std::pair<std::vector<double>, std::vector<int>>> samples;
  std::ifstream predictions(dir_ + "/out/predictions.csv");
  std::string line;
  std::getline(predictions, line);
  ASSERT_EQ(line, "path,finding,label,score");
  while (std::getline(predictions, line)) {
    std::stringstream fields(line.substr(line.find("\",") + 2));
    std::string finding, label, score;
    std::getline(fields, finding, ',');
    std::getline(fields, label, ',');
    std::getline(fields, score, ',');
    samples[finding].first.push_back(std::stod(score));
    samples[finding].second.push_back(std::stoi(label));
  }
  for (const char* name : {"effusion", "nodule"}) {
    const auto& [scores, labels] = samples[name];
    EXPECT_EQ(scores.size(), 200u);
    EXPECT_NEAR(metrics::auroc(scores, labels), by_name[name]["auroc"].get<double>(), 1e-6);
    EXPECT_NEAR(metrics::average_precision(scores, labels), by_name[name]["auprc"].get<double>(), 1e-6);
  }
}

TEST_F(ProbePluginTest, ClsPoolingCannotSeeWhatOnlyThePatchesCarry) {
  ASSERT_TRUE(write_feature_set(dir_ + "/features", synthetic_set(1000, 5)).ok());
  json end = run_probe(dir_ + "/features",
                       {{"pool", "cls"}, {"bootstrap", 0}, {"weight_decays", {1e-2}}});
  ASSERT_EQ(end["status"], "succeeded") << end.dump();
  std::ifstream report_file(dir_ + "/out/report.json");
  json report = json::parse(report_file);
  for (const auto& f : report["findings"]) {
    if (f["finding"] == "nodule") EXPECT_LT(f["auroc"].get<double>(), 0.65);
  }
}

// DINOv2's linear eval: CLS tokens of the last blocks concatenated. "nodule" is made
// readable only from block 0's CLS token of a 2-block encoder.
TEST_F(ProbePluginTest, LastBlocksConcatenatesTheirClsTokens) {
  FeatureSet set = synthetic_set(1000, 5);
  set.meta["arch"] = {{"depth", 2}};
  auto gen = at::detail::createCPUGenerator(9);
  set.layer_cls[0] = torch::randn({1000, 16}, gen);
  set.layer_cls[1] = set.cls;
  set.mean_patch = torch::randn({1000, 16}, gen);  // nodule no longer in the mean patch
  for (int64_t i = 0; i < 1000; ++i) set.rows[i].labels["nodule"] = set.layer_cls[0][i][2].item<float>() > 0.4f;
  ASSERT_TRUE(write_feature_set(dir_ + "/features", set).ok());
  auto nodule_auroc = [&](int64_t last_blocks) {
    json end = run_probe(dir_ + "/features", {{"last_blocks", last_blocks}, {"bootstrap", 0},
                                              {"weight_decays", {1e-3}}, {"findings", {"nodule"}}});
    EXPECT_EQ(end["status"], "succeeded") << end.dump();
    std::ifstream report_file(dir_ + "/out/report.json");
    json report = json::parse(report_file);
    EXPECT_EQ(report["last_blocks"], last_blocks);
    return report["findings"][0]["auroc"].get<double>();
  };
  EXPECT_GT(nodule_auroc(2), 0.9);
  EXPECT_LT(nodule_auroc(1), 0.65);

  json too_many = run_probe(dir_ + "/features", {{"last_blocks", 4}});
  EXPECT_EQ(too_many["status"], "failed");
  EXPECT_NE(too_many["message"].get<std::string>().find("set patch_layers"), std::string::npos) << too_many.dump();
}

TEST_F(ProbePluginTest, BadInputsFailWithAClearMessage) {
  ASSERT_TRUE(write_feature_set(dir_ + "/features", synthetic_set(200, 1)).ok());
  json missing = run_probe(dir_ + "/features", {{"findings", {"pneumothorax"}}});
  EXPECT_EQ(missing["status"], "failed");
  EXPECT_NE(missing["message"].get<std::string>().find("\"pneumothorax\" is not a label column"),
            std::string::npos)
      << missing.dump();

  std::ofstream(dir_ + "/features/rows.jsonl", std::ios::app) << R"({"path":"x","split":"test"})" << "\n";
  json mismatch = run_probe(dir_ + "/features", json::object());
  EXPECT_EQ(mismatch["status"], "failed");
  EXPECT_NE(mismatch["message"].get<std::string>().find("201 rows but 200 feature vectors"),
            std::string::npos)
      << mismatch.dump();
}

}  // namespace
}  // namespace radflow::ml::eval
