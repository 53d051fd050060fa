// The segment plugin through the real radflow-worker: it learns masks that the patch
// tokens determine, does not learn them from unrelated tokens, its per-sample
// artifacts recompute exactly the reported Dice and IoU, and bad inputs end with a
// clear message or a reported NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "plugins/ml/eval/feature_set.h"
#include "plugins/ml/image/image_writer.h"
#include "plugins/ml/metrics/mask_overlap.h"
#include "plugins/ml/safetensors/safetensors_file.h"
#include "tests/ml/segment/synthetic_segmentation_set.h"
#include "tests/worker/worker_process.h"

namespace radflow::segment {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class SegmentPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rf-segment-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes the synthetic set (data under dir_/data) as dir_/features.
  void write_set(const test::SyntheticOptions& options,
                 const std::function<void(ml::eval::FeatureSet&)>& edit = nullptr) {
    auto set = test::synthetic_segmentation_set(dir_ + "/data", options);
    if (edit) edit(set);
    ASSERT_TRUE(ml::eval::write_feature_set(dir_ + "/features", set).ok());
  }

  json run_segment(json params) {
    fs::remove_all(dir_ + "/out");
    json spec = {{"plugin_path", std::string(RADFLOW_PLUGIN_DIR) + "/segment.so"},
                 {"plugin_dir", RADFLOW_PLUGIN_DIR},
                 {"plugin_name", "segment"},
                 {"params", params},
                 {"inputs", {{"features", dir_ + "/features"}}},
                 {"output_dir", dir_ + "/out"}};
    const std::string spec_path = dir_ + "/spec.json";
    std::ofstream(spec_path) << spec.dump();
    radflow::test::WorkerProcess worker({"--attempt", spec_path});
    worker.read_all();
    worker.wait();
    events_ = worker.events();
    return worker.end_event();
  }

  json report() {
    std::ifstream file(dir_ + "/out/report.json");
    return json::parse(file);
  }
  static std::map<std::string, json> by_structure(const json& report) {
    std::map<std::string, json> out;
    for (const auto& s : report["structures"]) out[s["structure"]] = s;
    return out;
  }
  bool logged_warning(const std::string& text) const {
    for (const auto& e : events_) {
      if (e.value("type", "") == "log" && e.value("level", "") == "warning" &&
          e.value("message", "").find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  std::string dir_;
  std::vector<json> events_;
};

TEST_F(SegmentPluginTest, LearnsMasksTheTokensDetermineAndArtifactsRecomputeTheReport) {
  write_set({100, 1, false});
  json end = run_segment({{"epochs", 40}, {"lr", 0.01}, {"bootstrap", 50}, {"overlays", 3}});
  ASSERT_EQ(end["status"], "succeeded") << end.dump();
  const json r = report();
  auto s = by_structure(r);
  EXPECT_EQ(r["structures"].size(), 2u);  // default: heart and lungs, in every train row
  EXPECT_EQ(r["layers"], json({1, 3}));
  EXPECT_EQ(r["mask_size"], json({16, 16}));
  EXPECT_GT(s["lungs"]["dice"].get<double>(), 0.9) << r.dump();
  EXPECT_GT(s["heart"]["dice"].get<double>(), 0.7) << r.dump();
  EXPECT_LE(s["lungs"]["dice_ci"][0].get<double>(), s["lungs"]["dice"].get<double>());
  EXPECT_GE(s["lungs"]["dice_ci"][1].get<double>(), s["lungs"]["dice"].get<double>());
  EXPECT_LT(r["train_loss"].back().get<double>(), r["train_loss"][0].get<double>());
  EXPECT_EQ(r["train_loss"].size(), 40u);

  // Recompute from overlap.csv counts alone.
  std::map<std::string, std::pair<double, double>> sums;
  std::map<std::string, int> rows;
  std::ifstream csv(dir_ + "/out/predictions/overlap.csv");
  std::string line;
  std::getline(csv, line);
  ASSERT_EQ(line, "path,structure,pred_pixels,true_pixels,intersection,union,dice,iou");
  while (std::getline(csv, line)) {
    std::stringstream fields(line);
    std::string path, structure, pred, truth, inter, uni;
    std::getline(fields, path, ',');
    std::getline(fields, structure, ',');
    std::getline(fields, pred, ',');
    std::getline(fields, truth, ',');
    std::getline(fields, inter, ',');
    std::getline(fields, uni, ',');
    const double total = std::stod(pred) + std::stod(truth);
    sums[structure].first += total == 0 ? 1.0 : 2 * std::stod(inter) / total;
    sums[structure].second += std::stod(uni) == 0 ? 1.0 : std::stod(inter) / std::stod(uni);
    ++rows[structure];
  }
  for (const char* name : {"lungs", "heart"}) {
    ASSERT_EQ(rows[name], 20);
    EXPECT_NEAR(sums[name].first / 20, s[name]["dice"].get<double>(), 1e-12);
    EXPECT_NEAR(sums[name].second / 20, s[name]["iou"].get<double>(), 1e-12);
  }

  // ... and from the predicted and true masks with the shared metric.
  auto file = ml::safetensors::SafetensorsFile::open(dir_ + "/out/predictions/masks.safetensors");
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  auto pred = file->tensor("pred");
  auto truth = file->tensor("truth");
  ASSERT_TRUE(pred.ok() && truth.ok());
  ASSERT_EQ(pred->shape, (std::vector<int64_t>{20, 2, 16, 16}));
  const auto* p = static_cast<const uint8_t*>(pred->data);
  const auto* t = static_cast<const uint8_t*>(truth->data);
  const std::vector<std::string> order = json::parse(file->metadata().at("structures"));
  for (size_t c = 0; c < order.size(); ++c) {
    double dice_sum = 0;
    for (int i = 0; i < 20; ++i) {
      const size_t offset = (i * order.size() + c) * 256;
      dice_sum += ml::metrics::dice({p + offset, p + offset + 256}, {t + offset, t + offset + 256});
    }
    EXPECT_NEAR(dice_sum / 20, s[order[c]]["dice"].get<double>(), 1e-12) << order[c];
  }
  EXPECT_NEAR(r["mean_dice"].get<double>(),
              (s["lungs"]["dice"].get<double>() + s["heart"]["dice"].get<double>()) / 2, 1e-12);
  // Every final figure has its 95% interval in report.json, around the value, and is
  // recorded with it as NAME.low / NAME.high (what the dashboard's step page shows).
  std::map<std::string, double> metrics;
  for (const auto& e : events_) {
    if (e.value("type", "") == "metric" && e["value"].is_number()) metrics[e["name"]] = e["value"];
  }
  std::map<std::string, std::pair<double, json>> figures = {
      {"mean_dice", {r["mean_dice"].get<double>(), r["mean_dice_ci"]}},
      {"mean_iou", {r["mean_iou"].get<double>(), r["mean_iou_ci"]}}};
  for (const char* name : {"lungs", "heart"}) {
    for (const char* m : {"dice", "iou"}) {
      figures[std::string(m) + "." + name] = {s[name][m].get<double>(), s[name][std::string(m) + "_ci"]};
    }
  }
  for (const auto& [name, figure] : figures) {
    const auto& [value, ci] = figure;
    ASSERT_TRUE(ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number()) << name << r.dump();
    EXPECT_LE(ci[0].get<double>(), value) << name;
    EXPECT_GE(ci[1].get<double>(), value) << name;
    EXPECT_EQ(metrics[name], value) << name;
    ASSERT_EQ(metrics.count(name + ".low"), 1u) << name;
    EXPECT_EQ(metrics[name + ".low"], ci[0].get<double>()) << name;
    EXPECT_EQ(metrics[name + ".high"], ci[1].get<double>()) << name;
  }
  int overlays = 0;
  for (const auto& entry : fs::directory_iterator(dir_ + "/out/overlays")) overlays += entry.path().extension() == ".png";
  EXPECT_EQ(overlays, 3);
}

TEST_F(SegmentPluginTest, FpnHeadOnOneChosenBlockLearnsToo) {
  write_set({100, 2, false});
  json end = run_segment({{"head", "fpn"}, {"layers", {3}}, {"structures", {"lungs"}}, {"epochs", 25},
                          {"lr", 0.01}, {"bootstrap", 0}, {"overlays", 0}});
  ASSERT_EQ(end["status"], "succeeded") << end.dump();
  const json r = report();
  EXPECT_EQ(r["head"], "fpn");
  EXPECT_GT(by_structure(r)["lungs"]["dice"].get<double>(), 0.85) << r.dump();
}

TEST_F(SegmentPluginTest, UnrelatedTokensGiveLowDice) {
  write_set({100, 3, true});
  json end = run_segment({{"structures", {"heart"}}, {"epochs", 20}, {"lr", 0.01}, {"bootstrap", 0}});
  ASSERT_EQ(end["status"], "succeeded") << end.dump();
  EXPECT_LT(by_structure(report())["heart"]["dice"].get<double>(), 0.5);
}

TEST_F(SegmentPluginTest, AStructureEmptyInEveryTestMaskIsReportedAsNaN) {
  write_set({50, 4, false}, [&](ml::eval::FeatureSet& set) {
    const std::vector<float> empty(32 * 32, 0.0f);
    for (auto& row : set.rows) {
      if (row.split != "test") continue;
      row.masks["heart"] = dir_ + "/empty.png";
    }
    ASSERT_TRUE(ml::write_png16(dir_ + "/empty.png", empty, 32, 32, 1).ok());
  });
  json end = run_segment({{"epochs", 2}, {"bootstrap", 10}});
  ASSERT_EQ(end["status"], "succeeded") << end.dump();
  const json r = report();
  auto s = by_structure(r);
  EXPECT_TRUE(s["heart"]["dice"].is_null());
  EXPECT_TRUE(s["heart"]["iou"].is_null());
  EXPECT_NE(s["heart"]["warning"].get<std::string>().find("empty in every test mask"), std::string::npos);
  EXPECT_TRUE(logged_warning("empty in every test mask"));
  EXPECT_EQ(r["mean_structures"], 1);
  EXPECT_NEAR(r["mean_dice"].get<double>(), s["lungs"]["dice"].get<double>(), 1e-12);
  // A NaN figure has a null interval and records no bounds; the means still have theirs.
  EXPECT_EQ(s["heart"]["dice_ci"], json({nullptr, nullptr}));
  int heart_bounds = 0, mean_iou_bounds = 0;
  for (const auto& e : events_) {
    const std::string name = e.value("type", "") == "metric" ? e.value("name", "") : "";
    heart_bounds += name == "dice.heart.low" || name == "dice.heart.high";
    mean_iou_bounds += name == "mean_iou.low" || name == "mean_iou.high";
  }
  EXPECT_EQ(heart_bounds, 0);
  EXPECT_EQ(mean_iou_bounds, 2);
  EXPECT_TRUE(r["mean_iou_ci"][0].is_number()) << r.dump();
}

std::string message(const json& end) { return end.value("message", std::string()); }

TEST_F(SegmentPluginTest, BadInputsFailWithAClearMessage) {
  write_set({50, 5, false}, [](ml::eval::FeatureSet& set) { set.patch_tokens.clear(); });
  json no_tokens = run_segment(json::object());
  EXPECT_EQ(no_tokens["status"], "failed");
  EXPECT_NE(message(no_tokens).find("no patch tokens"), std::string::npos) << no_tokens.dump();
  EXPECT_NE(message(no_tokens).find("patch_layers"), std::string::npos) << no_tokens.dump();

  write_set({50, 5, false});
  json unknown = run_segment({{"structures", {"pneumothorax"}}});
  EXPECT_EQ(unknown["status"], "failed");
  EXPECT_NE(message(unknown).find("\"pneumothorax\" has no mask in any row"), std::string::npos)
      << unknown.dump();

  json bad_layer = run_segment({{"layers", {7}}});
  EXPECT_EQ(bad_layer["status"], "failed");
  EXPECT_NE(message(bad_layer).find("layer 7 is not in the feature set (patch layers: [1,3])"),
            std::string::npos)
      << bad_layer.dump();

  fs::remove(dir_ + "/data/masks/lungs3.png");
  json missing = run_segment({{"epochs", 1}});
  EXPECT_EQ(missing["status"], "failed");
  EXPECT_NE(message(missing).find(dir_ + "/data/masks/lungs3.png"), std::string::npos) << missing.dump();

  fs::remove_all(dir_ + "/data");
  write_set({50, 5, false}, [](ml::eval::FeatureSet& set) {
    for (auto& row : set.rows) {
      if (row.split == "test") row.split = "val";
    }
  });
  json no_test = run_segment({{"epochs", 1}});
  EXPECT_EQ(no_test["status"], "failed");
  EXPECT_NE(message(no_test).find("the test split is empty"), std::string::npos) << no_test.dump();
}

}  // namespace
}  // namespace radflow::segment
