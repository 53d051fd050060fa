#include "plugins/compare/evaluated_items.h"
#include "plugins/compare/paired_comparison.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "plugins/ml/metrics/auroc.h"
#include "plugins/ml/metrics/average_precision.h"
#include "plugins/ml/metrics/bleu.h"
#include "plugins/ml/metrics/text_tokenizer.h"

namespace radflow::compare {
namespace {

namespace fs = std::filesystem;
namespace metrics = ml::metrics;

class EvaluatedItemsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rf_compare_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  static std::vector<size_t> all(const EvaluatedItems& items) {
    std::vector<size_t> out(items.paths.size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = i;
    return out;
  }
  fs::path dir_;
};

TEST(SplitCsvLine, QuotedFieldsKeepCommasAndDoubledQuotes) {
  EXPECT_EQ(split_csv_line(R"("/a,b.dcm",nodule,1,0.5)"),
            (std::vector<std::string>{"/a,b.dcm", "nodule", "1", "0.5"}));
  EXPECT_EQ(split_csv_line(R"("say ""hi""",x)"), (std::vector<std::string>{"say \"hi\"", "x"}));
}

TEST_F(EvaluatedItemsTest, ProbeMacroMetricsMatchTheMetricsOnEveryItem) {
  const std::string csv = write("p.csv",
                                "path,finding,label,score\n"
                                "\"/i/1.dcm\",a,1,0.9\n\"/i/2.dcm\",a,0,0.2\n\"/i/3.dcm\",a,1,0.4\n\"/i/4.dcm\",a,0,0.6\n"
                                "\"/i/1.dcm\",b,0,0.1\n\"/i/2.dcm\",b,1,0.8\n\"/i/3.dcm\",b,0,0.3\n\"/i/4.dcm\",b,1,0.7\n");
  auto items = read_evaluated_items("probe", csv, "");
  ASSERT_TRUE(items.ok()) << items.status().to_string();
  ASSERT_EQ(items->paths.size(), 4u);
  ASSERT_EQ(items->metrics[0].name, "macro_auroc");
  const double auroc_a = metrics::auroc({0.9, 0.2, 0.4, 0.6}, {1, 0, 1, 0});
  const double auroc_b = metrics::auroc({0.1, 0.8, 0.3, 0.7}, {0, 1, 0, 1});
  EXPECT_DOUBLE_EQ(items->evaluate(0, all(*items)), (auroc_a + auroc_b) / 2);
  const double ap_a = metrics::average_precision({0.9, 0.2, 0.4, 0.6}, {1, 0, 1, 0});
  const double ap_b = metrics::average_precision({0.1, 0.8, 0.3, 0.7}, {0, 1, 0, 1});
  EXPECT_DOUBLE_EQ(items->evaluate(1, all(*items)), (ap_a + ap_b) / 2);
  // A sample with one class for every finding has no AUROC.
  EXPECT_TRUE(std::isnan(items->evaluate(0, {0, 0, 0})));
}

TEST_F(EvaluatedItemsTest, ReportMetricsAsReportGenComputesThem) {
  const std::string jsonl = write(
      "r.jsonl",
      R"({"path":"/1","reference":"no nodule. small effusion.","generated":"no nodule. small effusion.","reference_labels":{"effusion":1,"nodule":0},"generated_labels":{"effusion":1,"nodule":0}})"
      "\n"
      R"({"path":"/2","reference":"a nodule is seen.","generated":"no acute findings.","reference_labels":{"effusion":0,"nodule":1},"generated_labels":{"effusion":0,"nodule":0}})"
      "\n");
  auto items = read_evaluated_items("report", jsonl, "");
  ASSERT_TRUE(items.ok()) << items.status().to_string();
  ASSERT_EQ(items->metrics.size(), 3u);
  const double bleu = metrics::corpus_bleu4(
      {metrics::tokenize("no nodule. small effusion."), metrics::tokenize("no acute findings.")},
      {metrics::tokenize("no nodule. small effusion."), metrics::tokenize("a nodule is seen.")});
  EXPECT_DOUBLE_EQ(items->evaluate(0, all(*items)), bleu);
  EXPECT_DOUBLE_EQ(items->evaluate(1, {0}), 1.0);  // ROUGE-L of an exact copy
  // effusion: tp 1 -> F1 1; nodule: fn 1 -> F1 0; macro 0.5.
  EXPECT_DOUBLE_EQ(items->evaluate(2, all(*items)), 0.5);
  // On item 0 alone nodule is positive nowhere: left out of the macro.
  EXPECT_DOUBLE_EQ(items->evaluate(2, {0}), 1.0);
}

TEST_F(EvaluatedItemsTest, SegmentMeanDiceFromAFolder) {
  fs::create_directories(dir_ / "pred");
  write("pred/overlap.csv",
        "path,structure,pred_pixels,true_pixels,intersection,union,dice,iou\n"
        "/1,lungs,1,1,1,1,0.8,0.6\n/1,heart,1,1,1,1,0.4,0.2\n/2,lungs,1,1,1,1,0.6,0.4\n/2,heart,1,1,1,1,0.2,0.1\n");
  auto items = read_evaluated_items("segment", (dir_ / "pred").string(), "");
  ASSERT_TRUE(items.ok()) << items.status().to_string();
  EXPECT_DOUBLE_EQ(items->evaluate(0, all(*items)), (0.7 + 0.3) / 2);
  EXPECT_DOUBLE_EQ(items->evaluate(0, {1, 1}), (0.6 + 0.2) / 2);
}

TEST_F(EvaluatedItemsTest, DemographicsReadsOneEncodersLines) {
  const std::string jsonl = write(
      "d.jsonl",
      R"({"encoder":"x","field":"sex","path":"/1","truth":"F","truth_class":0,"prediction":"F","score":0.2})" "\n"
      R"({"encoder":"x","field":"sex","path":"/2","truth":"M","truth_class":1,"prediction":"M","score":0.9})" "\n"
      R"({"encoder":"x","field":"age","path":"/1","truth":40,"prediction":50})" "\n"
      R"({"encoder":"x","field":"age","path":"/2","truth":60,"prediction":60})" "\n"
      R"({"encoder":"y","field":"sex","path":"/1","truth":"F","truth_class":0,"prediction":"M","score":0.9})" "\n"
      R"({"encoder":"y","field":"sex","path":"/2","truth":"M","truth_class":1,"prediction":"F","score":0.1})" "\n");
  auto x = read_evaluated_items("demographics", jsonl, "x");
  ASSERT_TRUE(x.ok()) << x.status().to_string();
  ASSERT_EQ(x->metrics.size(), 3u);
  EXPECT_EQ(x->metrics[0].name, "sex_auroc");
  EXPECT_EQ(x->metrics[1].name, "age_r2");
  EXPECT_EQ(x->metrics[2].name, "age_mae");
  EXPECT_EQ(x->metrics[2].direction, metrics::Direction::kLowerIsBetter);
  EXPECT_DOUBLE_EQ(x->evaluate(0, all(*x)), 1.0);
  EXPECT_DOUBLE_EQ(x->evaluate(2, all(*x)), 5.0);
  auto y = read_evaluated_items("demographics", jsonl, "y");
  ASSERT_TRUE(y.ok());
  EXPECT_DOUBLE_EQ(y->evaluate(0, all(*y)), 0.0);
  EXPECT_FALSE(read_evaluated_items("demographics", jsonl, "z").ok());
}

TEST_F(EvaluatedItemsTest, WithItemsAddsEveryFindingAndStructureByItsRecordedName) {
  const std::string csv = write("p.csv",
                                "path,finding,label,score\n"
                                "/1,b,0,0.1\n/1,a,1,0.9\n/2,b,1,0.8\n/2,a,0,0.2\n/3,b,0,0.3\n/3,a,1,0.4\n");
  auto probe = read_evaluated_items("probe", csv, "", MetricSet::kWithItems);
  ASSERT_TRUE(probe.ok()) << probe.status().to_string();
  std::vector<std::string> names;
  for (const auto& m : probe->metrics) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"macro_auroc", "macro_auprc", "auprc.b", "auroc.b", "auprc.a", "auroc.a"}));
  EXPECT_DOUBLE_EQ(probe->evaluate(5, all(*probe)), metrics::auroc({0.9, 0.2, 0.4}, {1, 0, 1}));
  EXPECT_DOUBLE_EQ(probe->evaluate(2, {0, 1, 1}), metrics::average_precision({0.1, 0.8, 0.8}, {0, 1, 1}));
  // The headline set stays what the compare plugin judges.
  EXPECT_EQ(read_evaluated_items("probe", csv, "")->metrics.size(), 2u);

  fs::create_directories(dir_ / "seg");
  write("seg/overlap.csv",
        "path,structure,pred_pixels,true_pixels,intersection,union,dice,iou\n"
        "/1,lungs,1,1,1,1,0.8,0.6\n/1,heart,1,1,1,1,0.4,0.2\n/2,lungs,1,1,1,1,0.6,0.4\n/2,heart,1,1,1,1,0.2,0.1\n");
  auto segment = read_evaluated_items("segment", (dir_ / "seg").string(), "", MetricSet::kWithItems);
  ASSERT_TRUE(segment.ok()) << segment.status().to_string();
  names.clear();
  for (const auto& m : segment->metrics) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"mean_dice", "mean_iou", "dice.lungs", "iou.lungs", "dice.heart", "iou.heart"}));
  EXPECT_DOUBLE_EQ(segment->evaluate(1, all(*segment)), (0.5 + 0.15) / 2);  // mean IoU over structures
  EXPECT_DOUBLE_EQ(segment->evaluate(4, all(*segment)), 0.3);
  EXPECT_DOUBLE_EQ(segment->evaluate(5, {1, 1}), 0.1);

  const std::string jsonl = write(
      "r.jsonl",
      R"({"path":"/1","reference":"x","generated":"x","reference_labels":{"nodule":0,"effusion":1},"generated_labels":{"nodule":0,"effusion":1}})"
      "\n"
      R"({"path":"/2","reference":"y","generated":"z","reference_labels":{"nodule":1,"effusion":0},"generated_labels":{"nodule":0,"effusion":1}})"
      "\n");
  auto report = read_evaluated_items("report", jsonl, "", MetricSet::kWithItems);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_EQ(report->metrics.size(), 5u);
  EXPECT_EQ(report->metrics[3].name, "finding_f1.effusion");
  EXPECT_EQ(report->metrics[4].name, "finding_f1.nodule");
  EXPECT_DOUBLE_EQ(report->evaluate(3, all(*report)), 2.0 / 3.0);  // tp 1, fp 1
  EXPECT_DOUBLE_EQ(report->evaluate(4, all(*report)), 0.0);        // fn 1
  EXPECT_TRUE(std::isnan(report->evaluate(4, {0})));               // positive nowhere
}

TEST_F(EvaluatedItemsTest, PairedComparisonMatchesMetricsByNameNotPosition) {
  // b lists its findings in the other order: auroc.a of one must meet auroc.a of the other.
  const std::string a = write("a.csv", "path,finding,label,score\n/1,a,1,0.9\n/1,b,0,0.5\n/2,a,0,0.1\n/2,b,1,0.6\n"
                                       "/3,a,1,0.8\n/3,b,0,0.4\n/4,a,0,0.3\n/4,b,1,0.7\n");
  const std::string b = write("b.csv", "path,finding,label,score\n/4,b,1,0.7\n/4,a,0,0.3\n/3,b,0,0.4\n/3,a,1,0.8\n"
                                       "/2,b,1,0.6\n/2,a,0,0.1\n/1,b,0,0.5\n/1,a,1,0.9\n");
  auto x = read_evaluated_items("probe", a, "", MetricSet::kWithItems);
  auto y = read_evaluated_items("probe", b, "", MetricSet::kWithItems);
  ASSERT_TRUE(x.ok() && y.ok());
  PairedOptions options;
  options.resamples = 50;
  auto compared = compare_paired(*x, *y, "a", "b", options);
  ASSERT_TRUE(compared.ok()) << compared.status().to_string();
  ASSERT_EQ(compared->size(), 6u);
  for (const auto& c : *compared) {  // the same predictions: every difference is exactly 0
    EXPECT_EQ(c.paired.difference.point, 0.0) << c.metric.name;
    EXPECT_EQ(c.verdict, metrics::Verdict::kNoClearDifference) << c.metric.name;
  }
  // Other findings cannot be paired.
  const std::string other = write("c.csv", "path,finding,label,score\n/1,c,1,0.9\n/2,c,0,0.1\n/3,c,1,0.8\n/4,c,0,0.3\n"
                                           "/1,a,1,0.9\n/2,a,0,0.1\n/3,a,1,0.8\n/4,a,0,0.3\n");
  auto z = read_evaluated_items("probe", other, "", MetricSet::kWithItems);
  ASSERT_TRUE(z.ok());
  auto refused = compare_paired(*x, *z, "a", "c", options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), "compare_input");
  EXPECT_NE(refused.status().message().find("auprc.b"), std::string::npos) << refused.status().message();
}

TEST_F(EvaluatedItemsTest, BadInputsAreErrorsNamingTheFile) {
  auto missing = read_evaluated_items("probe", (dir_ / "none.csv").string(), "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("none.csv"), std::string::npos);
  const std::string bad = write("bad.csv", "path,finding,label,score\n/1,a,yes,0.3\n");
  auto malformed = read_evaluated_items("probe", bad, "");
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.status().message().find("bad.csv:2: label or score"), std::string::npos);
  EXPECT_FALSE(read_evaluated_items("nope", bad, "").ok());
  // JSON lines: a field of the wrong type is an error at its line, not an exception.
  const std::string typed = write("typed.jsonl",
                                  "{\"path\":\"/1\",\"reference\":\"a\",\"generated\":\"a\"}\n"
                                  "{\"path\":2,\"reference\":\"a\",\"generated\":\"a\"}\n");
  auto wrong_type = read_evaluated_items("report", typed, "");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("typed.jsonl:2: a field has the wrong type"),
            std::string::npos)
      << wrong_type.status().message();
  const std::string truth = write("truth.jsonl",
                                  "{\"encoder\":\"e\",\"field\":\"age\",\"path\":\"/1\",\"truth\":3}\n"
                                  "{\"encoder\":\"e\",\"field\":\"age\",\"path\":\"/2\",\"truth\":\"x\"}\n");
  auto bad_truth = read_evaluated_items("demographics", truth, "e");
  ASSERT_FALSE(bad_truth.ok());
  EXPECT_NE(bad_truth.status().message().find("truth.jsonl:2:"), std::string::npos)
      << bad_truth.status().message();
}

}  // namespace
}  // namespace radflow::compare
