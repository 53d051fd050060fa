// The report card model on a store filled by the test: every figure equals the metric
// its step recorded, intervals are present, paired differences and their significance
// equal a recomputation from the predictions artifacts with the shared statistics code,
// provenance names the digests the steps read, ablation runs get curves. The paired
// differences, per finding and per structure too, are checked against an independent
// recomputation from the predictions artifacts (paired_recomputation.h).
#include "orchestrator/report/report_card.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <tuple>

#include "tests/report/paired_recomputation.h"
#include "tests/report/two_encoder_run.h"
#include "tests/storage/temp_dir.h"

namespace radflow::report {
namespace {

using nlohmann::json;

class ReportCardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions fast;  // the test survives no power loss anyway
    fast.durability = storage::Durability::kNormal;
    auto store = storage::Store::open(dir_.sub("var"), fast);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(*store);
    auto artifacts = storage::ArtifactStore::open(dir_.sub("var"));
    ASSERT_TRUE(artifacts.ok()) << artifacts.status().to_string();
    artifacts_ = std::move(*artifacts);
  }

  int64_t record(const std::string& workflow = "report-fixture") {
    auto run = testing::record_two_encoder_run(*store_, *artifacts_, dir_.sub("scratch" + std::to_string(++runs_)),
                                               workflow);
    EXPECT_TRUE(run.ok()) << run.status().to_string();
    return run.ok() ? *run : 0;
  }

  // 200 resamples keep a test within seconds; the statistics are the same code.
  static ReportOptions quick() {
    ReportOptions options;
    options.bootstrap.resamples = 200;
    return options;
  }

  json card(const std::vector<int64_t>& runs, ReportOptions options = quick()) {
    auto built = report_card_of_runs(*store_, *artifacts_, runs, options);
    EXPECT_TRUE(built.ok()) << built.status().to_string();
    return built.ok() ? *built : json();
  }

  // The final value step `step` of run `run` recorded under `metric`.
  std::optional<double> recorded(int64_t run, const std::string& step, const std::string& metric) {
    auto s = store_->find_step(run, step);
    if (!s.ok()) return std::nullopt;
    auto points = store_->metrics_of_step(s->id);
    std::optional<double> value;
    for (const auto& p : *points) {
      if (p.name == metric) value = p.value;
    }
    return value;
  }

  std::string output_digest(int64_t run, const std::string& step, const std::string& output) {
    auto s = store_->find_step(run, step);
    auto outputs = store_->outputs_of_step(s->id);
    for (const auto& a : *outputs) {
      if (a.output_name == output) return a.digest;
    }
    return "";
  }

  std::string output_path(int64_t run, const std::string& step, const std::string& output) {
    return artifacts_->path_of(output_digest(run, step, output));
  }

  storage::testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::ArtifactStore> artifacts_;
  int runs_ = 0;
};

const json& section(const json& card, const std::string& kind) {
  for (const auto& s : card["sections"]) {
    if (s["kind"] == kind) return s;
  }
  static const json kNone;
  ADD_FAILURE() << "no section " << kind;
  return kNone;
}

TEST_F(ReportCardTest, EverySectionOfEveryEvaluationIsThere) {
  const int64_t run = record();
  const json c = card({run});
  ASSERT_EQ(c["sections"].size(), 4u);
  for (const char* kind : {"probe", "segment", "report", "demographics"}) {
    const json& s = section(c, kind);
    ASSERT_EQ(s["encoders"].size(), 2u) << kind;
    EXPECT_EQ(s["encoders"][0]["encoder"], "pretrained") << kind;
    EXPECT_EQ(s["encoders"][1]["encoder"], "random") << kind;
  }
  EXPECT_EQ(section(c, "probe")["items"]["names"], json({"effusion", "nodule"}));
  EXPECT_EQ(section(c, "segment")["items"]["names"], json({"lungs", "heart"}));
  EXPECT_EQ(c["warnings"], json::array());
  EXPECT_EQ(c["ablations"], json::array());  // not an ablation workflow
}

TEST_F(ReportCardTest, EveryFigureIsTheMetricItsStepRecorded) {
  const int64_t run = record();
  const json c = card({run});
  int figures = 0;
  for (const auto& s : c["sections"]) {
    for (const auto& row : s["encoders"]) {
      const json& source = c["provenance"][row["source"].get<size_t>()];
      for (const auto& [name, f] : row["figures"].items()) {
        const std::string metric = f["recorded_as"];
        if (s["kind"] == "demographics") {
          EXPECT_EQ(metric, source["encoder"].get<std::string>() + "." + name);
        }
        const auto value = recorded(run, source["step"], metric);
        ASSERT_TRUE(value.has_value()) << source["step"] << " " << metric;
        ASSERT_TRUE(f["value"].is_number()) << metric;
        EXPECT_EQ(f["value"].get<double>(), *value) << source["step"] << " " << metric;
        EXPECT_EQ(f["metric"], name);
        ++figures;
      }
    }
  }
  // probe 2 + 2x2 per finding, segment 2 + 2x2, report 3 + 2, demographics 3; two encoders.
  EXPECT_EQ(figures, 2 * (6 + 6 + 5 + 3));
}

TEST_F(ReportCardTest, EveryFigureHasAnInterval) {
  const int64_t run = record();
  const json c = card({run});
  const std::map<std::string, std::vector<std::string>> with_interval = {
      {"probe", {"macro_auprc", "macro_auroc", "auprc.effusion", "auroc.effusion", "auprc.nodule", "auroc.nodule"}},
      {"segment", {"mean_dice", "mean_iou", "dice.lungs", "iou.lungs", "dice.heart", "iou.heart"}},
      {"report", {"bleu4", "rouge_l", "finding_f1_macro", "finding_f1.effusion", "finding_f1.nodule"}},
      {"demographics", {"sex_auroc", "age_r2", "age_mae"}}};
  for (const auto& [kind, metrics] : with_interval) {
    for (const auto& row : section(c, kind)["encoders"]) {
      for (const auto& m : metrics) {
        const json& f = row["figures"][m];
        ASSERT_TRUE(f["low"].is_number() && f["high"].is_number()) << kind << " " << m << " " << f.dump();
        EXPECT_LE(f["low"].get<double>(), f["high"].get<double>()) << kind << " " << m;
        EXPECT_TRUE(f["interval"] == "step" || f["interval"] == "predictions") << f.dump();
      }
    }
  }
  // The plugin's own interval where it wrote one (probe's report.json: value - 0.05).
  const json& effusion = section(c, "probe")["encoders"][0]["figures"]["auroc.effusion"];
  EXPECT_EQ(effusion["interval"], "step");
  EXPECT_NEAR(effusion["low"].get<double>(), effusion["value"].get<double>() - 0.05, 1e-12);
  // The probe writes no interval for its macro figures: a bootstrap over the
  // predictions, around the recorded value.
  for (const auto& row : section(c, "probe")["encoders"]) {
    const json& f = row["figures"]["macro_auprc"];
    EXPECT_EQ(f["interval"], "predictions");
    EXPECT_LE(f["low"].get<double>(), f["value"].get<double>());
    EXPECT_GE(f["high"].get<double>(), f["value"].get<double>());
  }
  // Headline intervals from report.json's "<metric>_ci" (segment's mean_iou_ci: value
  // - 0.04, + 0.03) and items' under their own key (report-gen's f1_ci: - 0.07, + 0.06).
  for (const auto& [kind, metric, below, above] :
       {std::tuple{"segment", "mean_iou", 0.04, 0.03}, std::tuple{"report", "finding_f1.effusion", 0.07, 0.06},
        std::tuple{"report", "bleu4", 0.02, 0.01}, std::tuple{"segment", "iou.heart", 0.03, 0.02}}) {
    for (const auto& row : section(c, kind)["encoders"]) {
      const json& f = row["figures"][metric];
      EXPECT_EQ(f["interval"], "step") << metric;
      EXPECT_NEAR(f["low"].get<double>(), f["value"].get<double>() - below, 1e-12) << metric;
      EXPECT_NEAR(f["high"].get<double>(), f["value"].get<double>() + above, 1e-12) << metric;
    }
  }
}

TEST_F(ReportCardTest, EveryDifferenceEqualsAnIndependentRecomputationFromThePredictions) {
  const int64_t run = record();
  ReportOptions options = quick();
  options.bootstrap.seed = 11;
  const json c = card({run}, options);
  EXPECT_EQ(c["bootstrap"]["resamples"], 200);
  EXPECT_EQ(c["bootstrap"]["seed"], 11);
  const std::map<std::string, std::pair<std::string, std::string>> predictions = {
      {"probe", {"probe-pretrained", "probe-random"}},
      {"segment", {"segment-pretrained", "segment-random"}},
      {"report", {"report-pretrained", "report-random"}},
      {"demographics", {"demographics", "demographics"}}};
  // Headline metrics and, per finding or structure, every per-item metric.
  const std::map<std::string, size_t> metrics_of_kind = {{"probe", 6}, {"segment", 6}, {"report", 5}, {"demographics", 3}};
  std::map<std::string, std::string> verdicts;
  for (const auto& [kind, steps] : predictions) {
    const bool demographics = kind == "demographics";
    auto expected = testing::recompute_paired_differences(
        kind, output_path(run, steps.first, "predictions"), output_path(run, steps.second, "predictions"),
        demographics ? "pretrained" : "", demographics ? "random" : "", 200, 11);
    ASSERT_TRUE(expected.ok()) << expected.status().to_string();
    ASSERT_EQ(expected->size(), metrics_of_kind.at(kind)) << kind;
    const json& differences = section(c, kind)["differences"];
    ASSERT_EQ(differences.size(), expected->size()) << kind;
    for (const auto& d : differences) {
      const std::string metric = d["metric"];
      ASSERT_TRUE(expected->count(metric)) << kind << " " << metric;
      const auto& e = expected->at(metric);
      EXPECT_EQ(d["reference"], "pretrained");
      EXPECT_EQ(d["other"], "random");
      EXPECT_NEAR(d["difference"]["point"].get<double>(), e.point, 1e-9) << kind << " " << metric;
      EXPECT_NEAR(d["difference"]["low"].get<double>(), e.low, 1e-9) << kind << " " << metric;
      EXPECT_NEAR(d["difference"]["high"].get<double>(), e.high, 1e-9) << kind << " " << metric;
      EXPECT_EQ(d["verdict"], e.verdict) << kind << " " << metric;
      EXPECT_EQ(d["significant"], e.verdict != "no clear difference") << kind << " " << metric;
      // A per-item difference names its finding or structure.
      const size_t dot = metric.find('.');
      EXPECT_EQ(d["item"], dot == std::string::npos ? json() : json(metric.substr(dot + 1))) << metric;
      EXPECT_EQ(d["item_metric"], metric.substr(0, dot)) << metric;
      verdicts[kind + "." + metric] = d["verdict"];
    }
  }
  // The fixture makes these: the pretrained encoder separates effusion, segments the
  // lungs and writes reports better; nodule and the heart are a draw.
  EXPECT_EQ(verdicts["probe.macro_auroc"], "better");
  EXPECT_EQ(verdicts["probe.auroc.effusion"], "better");
  EXPECT_EQ(verdicts["probe.auprc.effusion"], "better");
  EXPECT_EQ(verdicts["probe.auroc.nodule"], "no clear difference");
  EXPECT_EQ(verdicts["segment.mean_dice"], "better");
  EXPECT_EQ(verdicts["segment.mean_iou"], "better");
  EXPECT_EQ(verdicts["segment.dice.lungs"], "better");
  EXPECT_EQ(verdicts["segment.iou.heart"], "no clear difference");
  EXPECT_EQ(verdicts["report.bleu4"], "better");
  EXPECT_EQ(verdicts["report.finding_f1.effusion"], "better");
}

TEST_F(ReportCardTest, ProvenanceNamesTheStepPluginCheckpointAndDataset) {
  const int64_t run = record();
  const json c = card({run});
  const json& row = section(c, "probe")["encoders"][0];
  const json& p = c["provenance"][row["source"].get<size_t>()];
  EXPECT_EQ(p["run_id"], run);
  EXPECT_EQ(p["step"], "probe-pretrained");
  EXPECT_EQ(p["plugin"], "probe");
  EXPECT_EQ(p["plugin_version"], "0.1.0");
  EXPECT_EQ(p["plugin_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(p["features_step"], "features-pretrained");
  EXPECT_EQ(p["checkpoint_sha256"], output_digest(run, "pretrain", "encoder"));
  EXPECT_EQ(p["dataset_sha256"], output_digest(run, "dataset", "dataset"));
  EXPECT_EQ(p["predictions_sha256"], output_digest(run, "probe-pretrained", "predictions"));
  // Demographics: one step, each encoder traced through its own features input.
  const json& d = section(c, "demographics")["encoders"][1];
  EXPECT_EQ(c["provenance"][d["source"].get<size_t>()]["checkpoint_sha256"],
            output_digest(run, "random-init", "encoder"));
}

TEST_F(ReportCardTest, SeveralRunsAreLabelledByRunAndCompared) {
  const int64_t first = record();
  const int64_t second = record();
  const json c = card({first, second});
  const json& probe = section(c, "probe");
  ASSERT_EQ(probe["encoders"].size(), 4u);
  EXPECT_EQ(probe["encoders"][0]["encoder"], "#" + std::to_string(first) + " pretrained");
  EXPECT_EQ(probe["encoders"][2]["encoder"], "#" + std::to_string(second) + " pretrained");
  // The first encoder against each of the three others: 2 macro and 2 x 2 per-finding metrics.
  EXPECT_EQ(probe["differences"].size(), 3u * 6u);
  EXPECT_EQ(c["runs"].size(), 2u);
}

TEST_F(ReportCardTest, AnAblationRunHasCurvesAlongItsAxis) {
  const int64_t run = record("ablation-resolution");
  const json c = card({run});
  ASSERT_EQ(c["ablations"].size(), 1u);
  const json& a = c["ablations"][0];
  EXPECT_EQ(a["axis"], "image size (px)");
  bool found = false;
  for (const auto& curve : a["curves"]) {
    if (curve["metric"] != "macro_auprc") continue;
    found = true;
    ASSERT_EQ(curve["points"].size(), 2u);
    EXPECT_EQ(curve["points"][0]["x"], 224);
    EXPECT_EQ(curve["points"][1]["x"], 518);
    EXPECT_EQ(curve["points"][0]["value"], section(c, "probe")["encoders"][0]["figures"]["macro_auprc"]["value"]);
  }
  EXPECT_TRUE(found);
}

TEST_F(ReportCardTest, OverlaysAreListedAndInlinedOnRequest) {
  const int64_t run = record();
  const json listed = section(card({run}), "segment")["encoders"][0]["overlays"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["path"], "0_case0.png");
  EXPECT_FALSE(listed[0].contains("data_uri"));
  ReportOptions options = quick();
  options.embed_overlays = 4;
  const json inlined = section(card({run}, options), "segment")["encoders"][0]["overlays"];
  EXPECT_EQ(inlined[0]["data_uri"].get<std::string>().rfind("data:image/png;base64,iVBORw0KGgo", 0), 0u);
}

TEST_F(ReportCardTest, UnknownOrNoRunsAreErrors) {
  auto none = report_card_of_runs(*store_, *artifacts_, {}, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), "bad_request");
  auto unknown = report_card_of_runs(*store_, *artifacts_, {42}, {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), "not_found");
  EXPECT_NE(unknown.status().message().find("42"), std::string::npos);
}

}  // namespace
}  // namespace radflow::report
