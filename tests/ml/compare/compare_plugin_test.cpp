// The compare plugin through the real radflow-worker, as the demo's table uses it: two
// encoders and a baseline on the same test items. Every value carries a 95% interval
// around the value recomputed from the predictions; a verdict says "better" or "worse"
// only when the paired interval of the difference excludes 0; identical predictors
// are never called different, whatever their intervals; the baseline gets its own
// paired verdict.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "plugins/ml/metrics/auroc.h"
#include "tests/data/plugin_runner.h"

namespace radflow::compare {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kItems = 240;
const char* const kFindings[] = {"effusion", "nodule"};

struct Predictor {
  std::vector<std::vector<double>> scores;  // [finding][item]
};

class ComparePlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rf-compare-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    std::mt19937 rng(7);
    std::bernoulli_distribution coin(0.4);
    std::normal_distribution<double> noise(0.0, 1.0);
    labels_.assign(2, std::vector<int>(kItems));
    for (auto& per_finding : labels_) for (int& y : per_finding) y = coin(rng);
    // The encoder separates the classes by about one noise sd; the baseline is noise.
    for (int f = 0; f < 2; ++f) {
      encoder_.scores.emplace_back();
      baseline_.scores.emplace_back();
      for (int i = 0; i < kItems; ++i) {
        encoder_.scores[f].push_back(labels_[f][i] + noise(rng));
        baseline_.scores[f].push_back(noise(rng));
      }
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A probe's predictions.csv, as the probe plugin writes it.
  std::string write_predictions(const std::string& name, const Predictor& p) {
    const std::string path = dir_ + "/" + name + ".csv";
    std::ofstream out(path);
    out << "path,finding,label,score\n";
    for (int f = 0; f < 2; ++f) {
      for (int i = 0; i < kItems; ++i) {
        out << "\"/images/" << i << ".dcm\"," << kFindings[f] << "," << labels_[f][i] << "," << p.scores[f][i] << "\n";
      }
    }
    return path;
  }

  json compare(const json& inputs, const json& names) {
    const test::PluginRun run = test::run_plugin("compare", {{"kind", "probe"}, {"names", names}, {"bootstrap", 500}},
                                                 inputs, dir_ + "/out", dir_ + "/spec.json");
    EXPECT_EQ(run.exit_code, 0) << run.end.dump();
    std::ifstream in(run.output("comparison"));
    json report = json::parse(in, nullptr, false);
    fs::remove_all(dir_ + "/out");
    return report;
  }

  double macro_auroc(const Predictor& p) const {
    return (ml::metrics::auroc(p.scores[0], labels_[0]) + ml::metrics::auroc(p.scores[1], labels_[1])) / 2;
  }

  static const json& metric(const json& report, const std::string& name) {
    for (const auto& m : report.at("metrics")) {
      if (m.at("metric") == name) return m;
    }
    static const json missing;
    ADD_FAILURE() << "no metric " << name << " in " << report.dump();
    return missing;
  }

  // The verdict a paired interval allows (higher is better).
  static std::string verdict_from(const json& difference) {
    if (difference.at("low").get<double>() > 0) return "better";
    if (difference.at("high").get<double>() < 0) return "worse";
    return "no clear difference";
  }

  std::string dir_;
  std::vector<std::vector<int>> labels_;
  Predictor encoder_, baseline_;
};

TEST_F(ComparePlugin, ValuesCarryIntervalsAndVerdictsFollowThePairedInterval) {
  const std::string encoder = write_predictions("encoder", encoder_);
  const std::string baseline = write_predictions("baseline", baseline_);
  const json report = compare({{"a", encoder}, {"b", baseline}, {"c", baseline}}, {"pretrained", "random", "pixels"});
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["test_items"], kItems);
  const json& auroc = metric(report, "macro_auroc");
  ASSERT_TRUE(auroc.is_object());
  const std::pair<const char*, const Predictor*> expected[] = {
      {"pretrained", &encoder_}, {"random", &baseline_}, {"pixels", &baseline_}};
  for (const auto& [name, predictor] : expected) {
    SCOPED_TRACE(name);
    const json& v = auroc["values"][name];
    EXPECT_NEAR(v["point"].get<double>(), macro_auroc(*predictor), 1e-12);
    EXPECT_LT(v["low"].get<double>(), v["point"].get<double>());
    EXPECT_GT(v["high"].get<double>(), v["point"].get<double>());
    EXPECT_LT(v["high"].get<double>() - v["low"].get<double>(), 0.2);
  }
  EXPECT_NEAR(auroc["difference"]["point"].get<double>(), macro_auroc(encoder_) - macro_auroc(baseline_), 1e-12);
  EXPECT_EQ(auroc["verdict"], "better");
  EXPECT_EQ(auroc["versus_baseline"]["verdict"], "better");
  for (const auto& m : report["metrics"]) {
    EXPECT_EQ(m["verdict"], verdict_from(m["difference"])) << m.dump();
  }

  // The other way round, the same evidence says "worse".
  const json reversed = compare({{"a", baseline}, {"b", encoder}}, {"random", "pretrained"});
  EXPECT_EQ(metric(reversed, "macro_auroc")["verdict"], "worse");
}

TEST_F(ComparePlugin, IdenticalPredictorsAreNeverCalledDifferent) {
  const std::string encoder = write_predictions("encoder", encoder_);
  const std::string copy = write_predictions("copy", encoder_);
  const json report = compare({{"a", encoder}, {"b", copy}}, {"first", "second"});
  for (const auto& m : report.at("metrics")) {
    EXPECT_EQ(m["verdict"], "no clear difference") << m.dump();
    EXPECT_EQ(m["difference"]["point"], 0.0) << m.dump();
  }
}

TEST_F(ComparePlugin, AGapInsideTheNoiseIsNoClearDifference) {
  // Two encoders whose scores differ by independent noise of a tenth of the signal:
  // their AUROCs differ a little, and the paired interval of that gap contains 0.
  Predictor close = encoder_;
  std::mt19937 rng(11);
  std::normal_distribution<double> jitter(0.0, 0.1);
  for (auto& per_finding : close.scores) for (double& s : per_finding) s += jitter(rng);
  ASSERT_NE(macro_auroc(close), macro_auroc(encoder_));
  const json report = compare({{"a", write_predictions("encoder", encoder_)}, {"b", write_predictions("close", close)}},
                              {"first", "second"});
  const json& auroc = metric(report, "macro_auroc");
  EXPECT_EQ(auroc["verdict"], "no clear difference") << auroc.dump();
  EXPECT_LT(auroc["difference"]["low"].get<double>(), 0);
  EXPECT_GT(auroc["difference"]["high"].get<double>(), 0);
}

}  // namespace
}  // namespace radflow::compare
