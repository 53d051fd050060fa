// probe: linear probing of a frozen encoder's features, RAD-DINO's classification
// protocol (raddino-method.md §4.1). Reads a feature set (features of every image of a
// dataset, computed once), trains one logistic classifier per finding on the train
// split, picks its weight decay on val AUPRC, and reports test AUROC and AUPRC with
// bootstrap 95% intervals, per finding and macro-averaged.
#include <cmath>
#include <fstream>

#include "plugins/ml/eval/feature_set.h"
#include "plugins/ml/eval/linear_probe.h"
#include "plugins/ml/torch/cpu_runtime.h"
#include "radflow/plugin.hpp"

namespace {

using radflow::ml::eval::FeatureSet;
using radflow::ml::eval::ProbeSplit;

nlohmann::json finite_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

ProbeSplit split_of(const FeatureSet& set, const torch::Tensor& features, const std::string& split,
                    const std::vector<std::string>& findings) {
  std::vector<int64_t> index;
  for (size_t i = 0; i < set.rows.size(); ++i) {
    if (set.rows[i].split == split) index.push_back(static_cast<int64_t>(i));
  }
  auto rows = torch::tensor(index, torch::kInt64);
  auto labels = torch::full({static_cast<int64_t>(index.size()), static_cast<int64_t>(findings.size())},
                            -1, torch::kInt64);
  for (size_t r = 0; r < index.size(); ++r) {
    const auto& row_labels = set.rows[index[r]].labels;
    for (size_t f = 0; f < findings.size(); ++f) {
      auto it = row_labels.find(findings[f]);
      if (it != row_labels.end()) labels[r][f] = it->second;
    }
  }
  return {features.index_select(0, rows), labels};
}

// DINOv2's linear-evaluation features: the CLS tokens of the last `last_blocks` blocks
// concatenated (1: the final CLS alone), then, for "cls+mean", the final block's mean
// patch token appended.
radflow::Result<torch::Tensor> probe_features(const FeatureSet& set, const std::string& pool,
                                              int64_t last_blocks) {
  std::vector<torch::Tensor> parts;
  if (last_blocks <= 1) {
    parts.push_back(set.cls);
  } else {
    const int64_t depth = set.meta.contains("arch") ? set.meta["arch"].value("depth", int64_t{0}) : 0;
    std::vector<int64_t> wanted;
    for (int64_t k = depth - last_blocks; k < depth; ++k) wanted.push_back(k);
    for (int64_t k : wanted) {
      auto it = set.layer_cls.find(k);
      if (depth < last_blocks || it == set.layer_cls.end()) {
        return radflow::Status::error(
            "missing_layers", "param 'last_blocks' = " + std::to_string(last_blocks) + " needs the CLS tokens of the last " +
                                  std::to_string(last_blocks) + " blocks of a " + std::to_string(depth) +
                                  "-block encoder; the feature set has " + std::to_string(set.layer_cls.size()) +
                                  " block(s): set patch_layers to [-" + std::to_string(last_blocks) +
                                  ", ..., -1] on the features step");
      }
      parts.push_back(it->second);
    }
  }
  if (pool == "cls+mean") parts.push_back(set.mean_patch);
  return torch::cat(parts, 1);
}

int run(radflow::sdk::Context& ctx) {
  radflow::ml::configure_cpu_runtime();
  auto set = radflow::ml::eval::read_feature_set(ctx.input("features"));
  if (!set.ok()) {
    ctx.fail(set.status().to_string());
    return RF_RUN_FAILED;
  }
  const std::string pool = ctx.param<std::string>("pool", "cls+mean");
  const int64_t last_blocks = ctx.param<int64_t>("last_blocks", 1);
  auto built = probe_features(*set, pool, last_blocks);
  if (!built.ok()) {
    ctx.fail(built.status().message());
    return RF_RUN_FAILED;
  }
  const torch::Tensor features = built.value();
  std::vector<std::string> findings = set->findings();
  if (ctx.has_param("findings")) {
    findings = ctx.params()["findings"].get<std::vector<std::string>>();
    const auto known = set->findings();
    for (const auto& f : findings) {
      if (std::find(known.begin(), known.end(), f) == known.end()) {
        ctx.fail("finding \"" + f + "\" is not a label column of the dataset (labels: " +
                 nlohmann::json(known).dump() + ")");
        return RF_RUN_FAILED;
      }
    }
  }
  if (findings.empty()) {
    ctx.fail("the feature set has no labels to probe");
    return RF_RUN_FAILED;
  }
  radflow::ml::eval::ProbeOptions options;
  options.weight_decays = ctx.param<std::vector<double>>("weight_decays", options.weight_decays);
  options.bootstrap_resamples = ctx.param<int>("bootstrap", 1000);
  options.seed = ctx.param<uint64_t>("seed", 0);
  ctx.log_info("probing " + std::to_string(findings.size()) + " finding(s) on " + pool +
               " features of dimension " + std::to_string(features.size(1)));
  ctx.progress(0.1, "training linear classifiers");
  auto result = radflow::ml::eval::linear_probe(split_of(*set, features, "train", findings),
                                                split_of(*set, features, "val", findings),
                                                split_of(*set, features, "test", findings),
                                                findings, options);
  if (!result.ok()) {
    ctx.fail(result.status().to_string());
    return RF_RUN_FAILED;
  }
  nlohmann::json report = {{"pool", pool},
                           {"last_blocks", last_blocks},
                           {"macro_auroc", finite_or_null(result->macro_auroc)},
                           {"macro_auprc", finite_or_null(result->macro_auprc)},
                           {"macro_findings", result->macro_count},
                           {"findings", nlohmann::json::array()}};
  for (const auto& f : result->findings) {
    report["findings"].push_back(
        {{"finding", f.finding},
         {"auroc", finite_or_null(f.auroc)},
         {"auroc_ci", {finite_or_null(f.auroc_ci.low), finite_or_null(f.auroc_ci.high)}},
         {"auprc", finite_or_null(f.auprc)},
         {"auprc_ci", {finite_or_null(f.auprc_ci.low), finite_or_null(f.auprc_ci.high)}},
         {"weight_decay", finite_or_null(f.weight_decay)},
         {"val_auprc", finite_or_null(f.val_auprc)},
         {"test_positives", f.test_positives},
         {"test_count", f.test_count},
         {"warning", f.warning}});
    if (!f.warning.empty()) ctx.log_warning(f.warning + ": its metrics are NaN");
    ctx.final_metric("auroc." + f.finding, f.auroc, f.auroc_ci.low, f.auroc_ci.high);
    ctx.final_metric("auprc." + f.finding, f.auprc, f.auprc_ci.low, f.auprc_ci.high);
  }
  ctx.metric("macro_auroc", 0, result->macro_auroc);
  ctx.metric("macro_auprc", 0, result->macro_auprc);
  const std::string report_path = ctx.output_path("report.json");
  std::ofstream(report_path) << report.dump(2) << "\n";
  // Per-sample scores, so every reported number can be recomputed.
  const std::string predictions_path = ctx.output_path("predictions.csv");
  std::ofstream predictions(predictions_path);
  predictions << "path,finding,label,score\n";
  std::vector<size_t> test_rows;
  for (size_t i = 0; i < set->rows.size(); ++i) {
    if (set->rows[i].split == "test") test_rows.push_back(i);
  }
  for (const auto& f : result->findings) {
    for (size_t r = 0; r < test_rows.size(); ++r) {
      const auto& row = set->rows[test_rows[r]];
      auto label = row.labels.find(f.finding);
      if (label == row.labels.end() || std::isnan(f.test_scores[r])) continue;
      predictions << '"' << row.path << "\"," << f.finding << ',' << label->second << ','
                  << f.test_scores[r] << "\n";
    }
  }
  predictions.close();
  ctx.register_output("report", report_path);
  ctx.register_output("predictions", predictions_path);
  ctx.progress(1.0, "done");
  ctx.log_info("macro AUROC " + std::to_string(result->macro_auroc) + ", macro AUPRC " +
               std::to_string(result->macro_auprc));
  return RF_RUN_OK;
}

}  // namespace

constexpr const char* kParamsSchema = R"json({"type":"object","properties":{
    "pool":{"type":"string","enum":["cls","cls+mean"],"default":"cls+mean",
            "description":"features: the CLS token, or CLS with the mean patch token appended"},
    "last_blocks":{"type":"integer","minimum":1,"maximum":48,"default":1,
                   "description":"concatenate the CLS tokens of this many last blocks (DINOv2's linear eval uses 4; needs patch_layers covering them on the features step)"},
    "findings":{"type":"array","items":{"type":"string"},
                "description":"findings to probe (default: every label column)"},
    "weight_decays":{"type":"array","items":{"type":"number","minimum":0},"minItems":1,
                     "default":[1e-5,1e-4,1e-3,1e-2,1e-1],
                     "description":"L2 penalties tried; the best on val AUPRC is kept per finding"},
    "bootstrap":{"type":"integer","minimum":0,"maximum":100000,"default":1000,
                 "description":"bootstrap resamples for the 95% intervals"},
    "seed":{"type":"integer","minimum":0,"default":0}},
  "additionalProperties":false})json";

constexpr const char* kInputs =
    R"json([{"name":"features","description":"a feature set folder (features.safetensors, rows.jsonl)"}])json";

constexpr const char* kOutputs = R"json([
  {"name":"report","description":"report.json: per-finding and macro AUROC/AUPRC with intervals"},
  {"name":"predictions","description":"predictions.csv: path, finding, label, score per test sample"}])json";

RADFLOW_PLUGIN("probe", "0.1.0",
               "Linear probe of frozen encoder features: per-finding AUROC and AUPRC with "
               "bootstrap 95% intervals (RAD-DINO's classification protocol).",
               kParamsSchema, kInputs, kOutputs, run)
