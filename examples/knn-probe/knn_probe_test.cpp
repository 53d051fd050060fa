// knn-probe run in process by radflow's test harness on a small feature set written
// here: finding "a" is the cluster a row lies in (k-NN must separate it perfectly),
// finding "b" is a coin flip; the reported metrics must equal a recomputation from
// the predictions artifact.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "radflow/plugin_testing.hpp"
#include "ranking_metrics.h"

extern "C" const rf_plugin* radflow_plugin(void);

namespace {

namespace fs = std::filesystem;

void write_feature_set(const fs::path& dir, int train, int test) {
  fs::create_directories(dir);
  const int n = train + test, dim = 4;
  std::mt19937_64 rng(11);
  std::normal_distribution<float> noise(0.0f, 0.2f);
  std::vector<float> values;
  std::ofstream rows((dir / "rows.jsonl").string());
  for (int i = 0; i < n; ++i) {
    const int a = i % 2, b = static_cast<int>(rng() % 2);
    for (int d = 0; d < dim; ++d) values.push_back((d == a ? 1.0f : 0.0f) + noise(rng));
    rows << nlohmann::json({{"path", "img" + std::to_string(i) + ".png"},
                            {"split", i < train ? "train" : "test"},
                            {"labels", {{"a", a}, {"b", b}}}})
                .dump()
         << "\n";
  }
  const std::string header =
      nlohmann::json({{"cls", {{"dtype", "F32"}, {"shape", {n, dim}},
                               {"data_offsets", {0, values.size() * sizeof(float)}}}}})
          .dump();
  std::ofstream out((dir / "features.safetensors").string(), std::ios::binary);
  const uint64_t size = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(size >> (8 * i) & 0xff));
  out << header;
  out.write(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

class KnnProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("knn-probe-test-" + std::to_string(::getpid()));
    write_feature_set(dir_ / "features", 60, 30);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(KnnProbeTest, MetricsMatchARecomputationFromThePredictions) {
  radflow::testing::PluginRun run;
  run.params = {{"k", 5}, {"bootstrap", 200}};
  run.inputs = {{"features", (dir_ / "features").string()}};
  run.output_dir = (dir_ / "out").string();
  const auto result = radflow::testing::run_plugin(*radflow_plugin(), run);
  ASSERT_TRUE(result.ok()) << result.reason << ": " << result.message;
  EXPECT_DOUBLE_EQ(result.last_metric("auroc.a"), 1.0);
  EXPECT_DOUBLE_EQ(result.last_metric("auprc.a"), 1.0);

  std::ifstream predictions(result.outputs.at("predictions"));
  std::vector<double> scores_b;
  std::vector<int> labels_b;
  std::string line;
  int rows = 0;
  while (std::getline(predictions, line)) {
    const auto row = nlohmann::json::parse(line);
    scores_b.push_back(row["scores"]["b"].get<double>());
    labels_b.push_back(row["labels"]["b"].get<int>());
    ++rows;
  }
  EXPECT_EQ(rows, 30);
  EXPECT_DOUBLE_EQ(result.last_metric("auroc.b"), knn::auroc(scores_b, labels_b));
  EXPECT_DOUBLE_EQ(result.last_metric("auprc.b"), knn::average_precision(scores_b, labels_b));
  EXPECT_DOUBLE_EQ(result.last_metric("auroc.macro"),
                   (1.0 + knn::auroc(scores_b, labels_b)) / 2);

  std::ifstream metrics_file(result.outputs.at("metrics"));
  const auto metrics = nlohmann::json::parse(metrics_file);
  EXPECT_EQ(metrics["k"], 5);
  const auto ci = metrics["findings"]["b"]["auroc_ci"];
  EXPECT_LE(ci[0].get<double>(), metrics["findings"]["b"]["auroc"].get<double>() + 1e-12);
  EXPECT_GE(ci[1].get<double>(), metrics["findings"]["b"]["auroc"].get<double>() - 1e-12);
}

TEST_F(KnnProbeTest, ABrokenFeatureSetFailsNamingTheFile) {
  fs::remove(dir_ / "features" / "rows.jsonl");
  radflow::testing::PluginRun run;
  run.inputs = {{"features", (dir_ / "features").string()}};
  const auto result = radflow::testing::run_plugin(*radflow_plugin(), run);
  EXPECT_EQ(result.reason, "plugin_exception");
  EXPECT_NE(result.message.find("rows.jsonl"), std::string::npos) << result.message;
  result.remove_output_dir();
}

TEST(RankingMetrics, AgreeWithScikitLearnOnTies) {
  // sklearn: roc_auc_score([1,0,1,0],[0.8,0.8,0.3,0.1]) = 0.625,
  // average_precision_score(...) = 0.5*0.5 + 0.5*(2/3) = 0.5833...
  const std::vector<double> scores = {0.8, 0.8, 0.3, 0.1};
  const std::vector<int> labels = {1, 0, 1, 0};
  EXPECT_DOUBLE_EQ(knn::auroc(scores, labels), 0.625);
  EXPECT_NEAR(knn::average_precision(scores, labels), 0.5 * 0.5 + 0.5 * (2.0 / 3.0), 1e-12);
  EXPECT_TRUE(std::isnan(knn::auroc({0.1, 0.2}, {1, 1})));
}

}  // namespace
