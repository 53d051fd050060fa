// The report-gen plugin through the real radflow-worker: on patch tokens that
// determine the report it learns to write it (high BLEU-4, ROUGE-L, finding F1), on
// tokens unrelated to the report it clearly does worse; the per-sample predictions
// recompute exactly the reported metrics; bad inputs fail with a clear message.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "plugins/compare/evaluated_items.h"
#include "plugins/compare/paired_comparison.h"
#include "plugins/ml/eval/feature_set.h"
#include "plugins/ml/metrics/bleu.h"
#include "plugins/ml/metrics/rouge.h"
#include "plugins/ml/metrics/text_tokenizer.h"
#include "plugins/report-gen/finding_labeler.h"
#include "tests/worker/worker_process.h"

namespace radflow::report_gen {
namespace {
namespace metrics = ml::metrics;
namespace fs = std::filesystem;
using ml::eval::FeatureRow;
using ml::eval::FeatureSet;
using nlohmann::json;

// Sorted, as the plugin reports findings.
const std::vector<std::string> kFindings = {"cardiomegaly", "effusion", "nodule", "pneumothorax"};

// Built like synth-cxr's reports: one sentence per finding, present or negated, with
// the side of the finding in the text.
std::string report_for(const std::vector<bool>& present, const std::vector<bool>& left) {
  auto side = [&](int k) { return std::string(left[k] ? "left" : "right"); };
  std::string r = present[0] ? "The heart is enlarged." : "Heart size is normal.";
  r += present[1] ? " Small " + side(1) + " pleural effusion." : " No pleural effusion.";
  r += present[2] ? " There is a " + side(2) + " pneumothorax." : " No pneumothorax is seen.";
  r += present[3] ? " Nodule in the " + side(3) + " upper zone." : " No pulmonary nodule.";
  return r;
}

// 4x4 patch grid, 24 channels. With `informative`, channel k > 0 on the patches
// means finding k is present and channel 8 + k > 0 puts it on the left; otherwise the
// tokens are noise independent of the report.
FeatureSet synthetic_set(int64_t n, bool informative, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  FeatureSet set;
  auto tokens = torch::randn({n, 16, 24}, gen) * 0.5;
  auto truth = torch::randn({n, 8}, gen);
  if (informative) tokens.narrow(2, 0, 4).add_(truth.narrow(1, 0, 4).sign().unsqueeze(1));
  if (informative) tokens.narrow(2, 8, 4).add_(truth.narrow(1, 4, 4).sign().unsqueeze(1));
  set.patch_tokens[11] = tokens;
  set.patch_tokens[5] = torch::randn({n, 16, 24}, gen);
  set.grid_h = set.grid_w = 4;
  set.cls = tokens.mean(1);
  set.mean_patch = tokens.mean(1);
  for (int64_t i = 0; i < n; ++i) {
    FeatureRow row;
    row.path = "images/" + std::to_string(i) + ".dcm";
    row.split = i % 10 < 6 ? "train" : i % 10 < 8 ? "val" : "test";
    std::vector<bool> present, left;
    for (int k = 0; k < 4; ++k) {
      present.push_back(truth[i][k].item<float>() > 0);
      left.push_back(truth[i][4 + k].item<float>() > 0);
      row.labels[kFindings[k]] = present.back() ? 1 : 0;
    }
    row.report = report_for(present, left);
    set.rows.push_back(row);
  }
  set.meta = {{"encoder", "synthetic"}, {"grid", {4, 4}}, {"patch_layers", {5, 11}}};
  return set;
}

class ReportGenPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rf-report-gen-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(dir_); }

  json run_plugin(const std::string& features, json params) {
    fs::remove_all(dir_ + "/out");
    json spec = {{"plugin_path", std::string(RADFLOW_PLUGIN_DIR) + "/report-gen.so"},
                 {"plugin_dir", RADFLOW_PLUGIN_DIR},
                 {"plugin_name", "report-gen"},
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
  // report.json of the last run; its headline metrics also go to the test's XML
  // properties, to see the margins the thresholds below leave.
  json read_report() {
    std::ifstream file(dir_ + "/out/report.json");
    json report = json::parse(file);
    for (const char* key : {"bleu4", "rouge_l", "rouge_l_coco", "finding_f1_macro", "finding_f1_micro"}) {
      RecordProperty(key, report[key].is_null() ? std::string("null") : std::to_string(report[key].get<double>()));
    }
    return report;
  }
  std::string message_of(const json& end) { return end.value("message", std::string()); }

  const json kFast = {{"epochs", 12}, {"d_model", 64}, {"heads", 4}, {"seed", 3}};
  std::string dir_;
  std::map<std::string, double> metrics_;  // the last run's recorded metrics (finite ones)
};

json with(json base, const json& extra) {
  base.update(extra);
  return base;
}

// Recomputes BLEU-4, ROUGE-L and finding F1 from predictions.jsonl and checks them
// against report.json; also re-runs the labeler on both texts.
void expect_predictions_recompute(const std::string& out, const json& report) {
  std::vector<metrics::TokenList> hyp_keep, ref_keep, hyp_drop, ref_drop;
  std::vector<std::vector<int>> generated_labels, reference_labels;
  FindingLabeler labeler(kFindings);
  std::ifstream predictions(out + "/predictions.jsonl");
  std::string line;
  while (std::getline(predictions, line)) {
    json p = json::parse(line);
    const std::string generated = p["generated"], reference = p["reference"];
    hyp_keep.push_back(metrics::tokenize(generated));
    ref_keep.push_back(metrics::tokenize(reference));
    hyp_drop.push_back(metrics::tokenize(generated, metrics::PunctuationMode::kDrop));
    ref_drop.push_back(metrics::tokenize(reference, metrics::PunctuationMode::kDrop));
    std::vector<int> g, r;
    for (const auto& f : kFindings) {
      g.push_back(p["generated_labels"][f]);
      r.push_back(p["reference_labels"][f]);
    }
    EXPECT_EQ(labeler.label(generated), g) << generated;
    EXPECT_EQ(labeler.label(reference), r) << reference;
    generated_labels.push_back(g);
    reference_labels.push_back(r);
  }
  ASSERT_EQ(static_cast<int64_t>(hyp_keep.size()), report["counts"]["test"].get<int64_t>());
  EXPECT_NEAR(metrics::corpus_bleu4(hyp_keep, ref_keep), report["bleu4"].get<double>(), 1e-12);
  EXPECT_NEAR(metrics::mean_rouge_l_f(hyp_drop, ref_drop), report["rouge_l"].get<double>(), 1e-12);
  EXPECT_NEAR(metrics::mean_rouge_l_f(hyp_drop, ref_drop, metrics::kCocoBeta), report["rouge_l_coco"].get<double>(), 1e-12);
  FindingF1 f1 = finding_f1(generated_labels, reference_labels, kFindings.size());
  EXPECT_NEAR(f1.macro, report["finding_f1_macro"].get<double>(), 1e-12);
  EXPECT_NEAR(f1.micro, report["finding_f1_micro"].get<double>(), 1e-12);
  for (size_t f = 0; f < kFindings.size(); ++f) {
    ASSERT_EQ(report["findings"][f]["finding"], kFindings[f]);
    EXPECT_NEAR(f1.per_finding[f], report["findings"][f]["f1"].get<double>(), 1e-12);
  }
}

TEST_F(ReportGenPluginTest, LearnsReportsFromInformativeTokensAndMetricsRecompute) {
  ASSERT_TRUE(write_feature_set(dir_ + "/features", synthetic_set(300, true, 1)).ok());
  json end = run_plugin(dir_ + "/features", kFast);
  ASSERT_EQ(end["status"], "succeeded") << end.dump();
  json report = read_report();
  EXPECT_EQ(report["layer"], 11);  // the last layer present by default
  EXPECT_EQ(report["decoding"]["method"], "beam");
  EXPECT_EQ(report["decoding"]["beam_size"], 3);
  EXPECT_EQ(report["counts"]["test"], 60);
  EXPECT_GT(report["rouge_l"].get<double>(), 0.9) << report.dump();
  EXPECT_GT(report["bleu4"].get<double>(), 0.8) << report.dump();
  EXPECT_GT(report["finding_f1_macro"].get<double>(), 0.85) << report.dump();
  const auto& loss = report["training"]["train_loss"];
  EXPECT_LT(loss.back().get<double>(), loss.front().get<double>() / 3);
  expect_predictions_recompute(dir_ + "/out", report);
  std::ifstream vocab_file(dir_ + "/out/vocabulary.json");
  EXPECT_EQ(json::parse(vocab_file)["size"], report["vocab_size"]);
  EXPECT_TRUE(fs::exists(dir_ + "/out/side_by_side.md"));
}

// Every final figure has a bootstrap 95% interval over test reports in report.json,
// recorded as NAME.low / NAME.high beside NAME (what the dashboard's step page shows);
// those the report card also bootstraps equal its interval from predictions.jsonl with
// the same resamples and seed (plugins/compare, which scores the reports its own way).
TEST_F(ReportGenPluginTest, EveryFigureHasABootstrapIntervalOverTestReports) {
  ASSERT_TRUE(write_feature_set(dir_ + "/features", synthetic_set(300, true, 1)).ok());
  json end = run_plugin(dir_ + "/features", with(kFast, {{"epochs", 4}, {"beam_size", 1}, {"bootstrap", 300}}));
  ASSERT_EQ(end["status"], "succeeded") << end.dump();
  const json report = read_report();
  EXPECT_EQ(report["bootstrap"]["resamples"], 300);
  std::map<std::string, std::pair<double, json>> figures;
  for (const char* name : {"bleu4", "rouge_l", "rouge_l_coco", "finding_f1_macro", "finding_f1_micro"}) {
    figures[name] = {report[name].get<double>(), report[std::string(name) + "_ci"]};
  }
  for (const auto& f : report["findings"]) {
    if (f["f1"].is_null()) continue;
    figures["finding_f1." + f["finding"].get<std::string>()] = {f["f1"].get<double>(), f["f1_ci"]};
  }
  ASSERT_GE(figures.size(), 7u) << report.dump();
  for (const auto& [name, figure] : figures) {
    const auto& [value, ci] = figure;
    ASSERT_TRUE(ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number()) << name << " " << ci;
    EXPECT_LE(ci[0].get<double>(), ci[1].get<double>()) << name;
    EXPECT_EQ(metrics_[name], value) << name;
    ASSERT_EQ(metrics_.count(name + ".low"), 1u) << name;
    EXPECT_EQ(metrics_[name + ".low"], ci[0].get<double>()) << name;
    EXPECT_EQ(metrics_[name + ".high"], ci[1].get<double>()) << name;
  }
  auto items = compare::read_evaluated_items("report", dir_ + "/out/predictions.jsonl", "",
                                             compare::MetricSet::kWithItems);
  ASSERT_TRUE(items.ok()) << items.status().to_string();
  const auto intervals = compare::intervals_of(*items, {300, 0.05, 3});
  int compared = 0;
  for (size_t m = 0; m < items->metrics.size(); ++m) {
    const std::string& name = items->metrics[m].name;
    if (!figures.count(name)) continue;
    const json& ci = figures[name].second;
    EXPECT_NEAR(intervals[m].low, ci[0].get<double>(), 1e-12) << name;
    EXPECT_NEAR(intervals[m].high, ci[1].get<double>(), 1e-12) << name;
    ++compared;
  }
  EXPECT_GE(compared, 5);
  // bootstrap 0: no interval, and no bounds recorded.
  ASSERT_EQ(run_plugin(dir_ + "/features", with(kFast, {{"epochs", 1}, {"beam_size", 1}, {"bootstrap", 0}}))["status"],
            "succeeded");
  EXPECT_EQ(read_report()["bleu4_ci"], json({nullptr, nullptr}));
  EXPECT_EQ(metrics_.count("bleu4"), 1u);
  EXPECT_EQ(metrics_.count("bleu4.low"), 0u);
}

TEST_F(ReportGenPluginTest, TokensUnrelatedToTheReportScoreClearlyLower) {
  ASSERT_TRUE(write_feature_set(dir_ + "/features", synthetic_set(300, true, 1)).ok());
  json good = run_plugin(dir_ + "/features", with(kFast, {{"beam_size", 1}}));
  ASSERT_EQ(good["status"], "succeeded") << good.dump();
  json informative = read_report();
  EXPECT_EQ(informative["decoding"]["method"], "greedy");
  ASSERT_TRUE(write_feature_set(dir_ + "/random", synthetic_set(300, false, 1)).ok());
  json bad = run_plugin(dir_ + "/random", with(kFast, {{"beam_size", 1}}));
  ASSERT_EQ(bad["status"], "succeeded") << bad.dump();
  json random = read_report();
  EXPECT_LT(random["finding_f1_macro"].get<double>(), 0.7) << random.dump();
  EXPECT_LT(random["finding_f1_macro"].get<double>(), informative["finding_f1_macro"].get<double>() - 0.2);
  EXPECT_LT(random["rouge_l"].get<double>(), informative["rouge_l"].get<double>() - 0.05);
  EXPECT_LT(random["bleu4"].get<double>(), informative["bleu4"].get<double>() - 0.1);
  expect_predictions_recompute(dir_ + "/out", random);
}

TEST_F(ReportGenPluginTest, BadInputsFailWithAClearMessage) {
  FeatureSet set = synthetic_set(40, true, 2);
  ASSERT_TRUE(write_feature_set(dir_ + "/features", set).ok());
  json layer = run_plugin(dir_ + "/features", {{"layer", 7}});
  EXPECT_EQ(layer["status"], "failed");
  EXPECT_NE(message_of(layer).find("layer 7 has no patch tokens in the feature set (layers: [5,11])"),
            std::string::npos)
      << layer.dump();

  json heads = run_plugin(dir_ + "/features", {{"d_model", 30}, {"heads", 4}});
  EXPECT_EQ(heads["status"], "failed");
  EXPECT_NE(message_of(heads).find("must be a positive multiple of heads"), std::string::npos) << heads.dump();

  FeatureSet no_patches = set;
  no_patches.patch_tokens.clear();
  no_patches.grid_h = no_patches.grid_w = 0;
  ASSERT_TRUE(write_feature_set(dir_ + "/no-patches", no_patches).ok());
  json patches = run_plugin(dir_ + "/no-patches", json::object());
  EXPECT_EQ(patches["status"], "failed");
  EXPECT_NE(message_of(patches).find("set patch_layers on the features step"), std::string::npos)
      << patches.dump();

  FeatureSet no_reports = set;
  for (auto& row : no_reports.rows) row.report.clear();
  ASSERT_TRUE(write_feature_set(dir_ + "/no-reports", no_reports).ok());
  json reports = run_plugin(dir_ + "/no-reports", json::object());
  EXPECT_EQ(reports["status"], "failed");
  EXPECT_NE(message_of(reports).find("the dataset has no reports"), std::string::npos) << reports.dump();

  FeatureSet no_test = set;
  for (auto& row : no_test.rows) {
    if (row.split == "test") row.split = "train";
  }
  ASSERT_TRUE(write_feature_set(dir_ + "/no-test", no_test).ok());
  json test = run_plugin(dir_ + "/no-test", json::object());
  EXPECT_EQ(test["status"], "failed");
  EXPECT_NE(message_of(test).find("the test split has no row with a report"), std::string::npos) << test.dump();
}

TEST_F(ReportGenPluginTest, FindingsWithoutPositivesAreReportedAsNaN) {
  FeatureSet set = synthetic_set(60, true, 3);
  // A label column no report ever mentions, and a dataset without any test row
  // mentioning it: its F1 is NaN (null in JSON) and it is left out of the macro mean.
  for (auto& row : set.rows) row.labels["hiatal_hernia"] = 0;
  ASSERT_TRUE(write_feature_set(dir_ + "/features", set).ok());
  json end = run_plugin(dir_ + "/features", {{"epochs", 1}, {"d_model", 32}, {"heads", 2}, {"beam_size", 2}});
  ASSERT_EQ(end["status"], "succeeded") << end.dump();
  json report = read_report();
  bool seen = false;
  for (const auto& f : report["findings"]) {
    if (f["finding"] != "hiatal_hernia") continue;
    seen = true;
    EXPECT_TRUE(f["f1"].is_null());
    EXPECT_EQ(f["warning"], "positive in neither generated nor reference reports");
  }
  EXPECT_TRUE(seen);
  EXPECT_LE(report["finding_f1_macro_findings"].get<int>(), 4);
}

}  // namespace
}  // namespace radflow::report_gen
