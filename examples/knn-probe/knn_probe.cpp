// knn-probe: k-nearest-neighbour classification on frozen features, DINOv2's other
// standard probe (its knn eval): features L2-normalised, cosine similarity to every
// training row, the k most similar vote with weight exp(similarity / T). For each
// finding the score of an evaluated row is the weighted share of positive votes,
// sum_j w_j y_j / sum_j w_j, judged by AUROC and AUPRC with bootstrap intervals.
// Written against installed radflow headers only (docs/writing-plugins.md).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "feature_reader.h"
#include "radflow/plugin.hpp"
#include "ranking_metrics.h"

namespace {

void normalise_rows(knn::FeatureTable* table) {
  for (int64_t i = 0; i < table->rows; ++i) {
    float* row = table->values.data() + i * table->dim;
    double norm = 0;
    for (int64_t d = 0; d < table->dim; ++d) norm += static_cast<double>(row[d]) * row[d];
    const double scale = norm > 0 ? 1.0 / std::sqrt(norm) : 0.0;
    for (int64_t d = 0; d < table->dim; ++d) row[d] = static_cast<float>(row[d] * scale);
  }
}

std::vector<size_t> rows_of_split(const knn::FeatureTable& table, const std::string& split) {
  std::vector<size_t> rows;
  for (size_t i = 0; i < table.row_info.size(); ++i) {
    if (table.row_info[i].split == split) rows.push_back(i);
  }
  return rows;
}

// Weighted positive share per finding for one evaluated row.
std::vector<double> vote(const knn::FeatureTable& table, size_t row, const std::vector<size_t>& train,
                         const std::vector<std::string>& findings, size_t k, double temperature) {
  std::vector<std::pair<double, size_t>> similar;
  similar.reserve(train.size());
  const float* x = table.values.data() + row * table.dim;
  for (size_t t : train) {
    const float* y = table.values.data() + t * table.dim;
    double dot = 0;
    for (int64_t d = 0; d < table.dim; ++d) dot += static_cast<double>(x[d]) * y[d];
    similar.push_back({dot, t});
  }
  const size_t top = std::min(k, similar.size());
  std::partial_sort(similar.begin(), similar.begin() + top, similar.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  std::vector<double> scores(findings.size(), 0.0);
  double total = 0;
  for (size_t n = 0; n < top; ++n) {
    // exp((s - s_max) / T): the same shares as exp(s / T), without overflow.
    const double weight = std::exp((similar[n].first - similar[0].first) / temperature);
    total += weight;
    const auto& labels = table.row_info[similar[n].second].labels;
    for (size_t f = 0; f < findings.size(); ++f) {
      auto it = labels.find(findings[f]);
      if (it != labels.end() && it->second != 0) scores[f] += weight;
    }
  }
  for (double& s : scores) s = total > 0 ? s / total : 0.0;
  return scores;
}

int run(radflow::sdk::Context& ctx) {
  const size_t k = static_cast<size_t>(ctx.param<int>("k"));
  const double temperature = ctx.param<double>("temperature");
  const std::string eval_split = ctx.param<std::string>("eval_split");
  knn::FeatureTable table = knn::read_feature_table(ctx.input("features"), ctx.param<std::string>("features"));
  normalise_rows(&table);
  const std::vector<size_t> train = rows_of_split(table, "train");
  const std::vector<size_t> evaluated = rows_of_split(table, eval_split);
  if (train.empty() || evaluated.empty()) {
    ctx.fail("the feature set needs rows of split train and " + eval_split + "; it has " +
             std::to_string(train.size()) + " and " + std::to_string(evaluated.size()));
    return RF_RUN_FAILED;
  }
  std::set<std::string> finding_set;
  for (size_t t : train) {
    for (const auto& [finding, label] : table.row_info[t].labels) finding_set.insert(finding);
  }
  const std::vector<std::string> findings(finding_set.begin(), finding_set.end());
  ctx.log_info("k-NN (k=" + std::to_string(k) + ", T=" + std::to_string(temperature) + ") of " +
               std::to_string(evaluated.size()) + " " + eval_split + " rows against " +
               std::to_string(train.size()) + " train rows, " + std::to_string(findings.size()) +
               " findings");

  std::ofstream predictions(ctx.output_path("predictions.jsonl"));
  std::vector<std::vector<double>> scores(findings.size());
  std::vector<std::vector<int>> labels(findings.size());
  for (size_t n = 0; n < evaluated.size(); ++n) {
    if (ctx.cancelled()) return RF_RUN_CANCELLED;
    const size_t row = evaluated[n];
    const std::vector<double> row_scores = vote(table, row, train, findings, k, temperature);
    nlohmann::json line = {{"path", table.row_info[row].path}, {"split", eval_split},
                           {"scores", nlohmann::json::object()}, {"labels", nlohmann::json::object()}};
    for (size_t f = 0; f < findings.size(); ++f) {
      auto it = table.row_info[row].labels.find(findings[f]);
      line["scores"][findings[f]] = row_scores[f];
      if (it == table.row_info[row].labels.end()) continue;  // unlabelled: not scored
      line["labels"][findings[f]] = it->second;
      scores[f].push_back(row_scores[f]);
      labels[f].push_back(it->second);
    }
    predictions << line.dump() << "\n";
    if ((n + 1) % 64 == 0) ctx.progress(0.8 * (n + 1) / evaluated.size(), "voting");
  }
  predictions.close();

  const int resamples = ctx.param<int>("bootstrap");
  const uint64_t seed = static_cast<uint64_t>(ctx.param<int64_t>("seed"));
  nlohmann::json metrics = nlohmann::json::object();
  double auroc_sum = 0, auprc_sum = 0;
  int counted = 0;
  for (size_t f = 0; f < findings.size(); ++f) {
    const double auroc = knn::auroc(scores[f], labels[f]);
    const double auprc = knn::average_precision(scores[f], labels[f]);
    const knn::Interval auroc_ci = knn::bootstrap_95(knn::auroc, scores[f], labels[f], resamples, seed);
    const knn::Interval auprc_ci =
        knn::bootstrap_95(knn::average_precision, scores[f], labels[f], resamples, seed);
    const std::string& name = findings[f];
    ctx.metric("auroc." + name, 0, auroc);
    ctx.metric("auprc." + name, 0, auprc);
    metrics[name] = {{"auroc", auroc}, {"auroc_ci", {auroc_ci.low, auroc_ci.high}},
                     {"auprc", auprc}, {"auprc_ci", {auprc_ci.low, auprc_ci.high}},
                     {"positives", std::count(labels[f].begin(), labels[f].end(), 1)}};
    if (!std::isnan(auroc) && !std::isnan(auprc)) {
      auroc_sum += auroc;
      auprc_sum += auprc;
      ++counted;
    }
  }
  const double nan = std::nan("");
  ctx.metric("auroc.macro", 0, counted > 0 ? auroc_sum / counted : nan);
  ctx.metric("auprc.macro", 0, counted > 0 ? auprc_sum / counted : nan);
  const std::string metrics_file = ctx.output_path("metrics.json");
  std::ofstream(metrics_file) << nlohmann::json({{"k", k}, {"temperature", temperature},
                                                 {"findings", metrics}}).dump(2, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
  ctx.register_output("predictions", ctx.output_path("predictions.jsonl"));
  ctx.register_output("metrics", metrics_file);
  ctx.progress(1.0, "done");
  return RF_RUN_OK;
}

}  // namespace

RADFLOW_PLUGIN("knn-probe", "0.1.0",
               "k-nearest-neighbour probe on frozen features (cosine, temperature-weighted votes).",
               R"J({"type":"object","properties":{
                   "k":{"type":"integer","minimum":1,"default":20,"description":"neighbours that vote"},
                   "temperature":{"type":"number","exclusiveMinimum":0,"default":0.07,
                                  "description":"votes weigh exp(cosine / T)"},
                   "features":{"type":"string","enum":["cls","mean_patch","cls+mean"],"default":"cls"},
                   "eval_split":{"type":"string","enum":["val","test"],"default":"test"},
                   "bootstrap":{"type":"integer","minimum":0,"maximum":10000,"default":1000,
                                "description":"resamples of the 95% intervals"},
                   "seed":{"type":"integer","default":0}},
                  "additionalProperties":false})J",
               R"J([{"name":"features","description":"a feature set (the features step's output)"}])J",
               R"J([{"name":"predictions","description":"predictions.jsonl: per evaluated row, scores and labels per finding"},
                   {"name":"metrics","description":"metrics.json: AUROC and AUPRC per finding with 95% intervals"}])J",
               run)
