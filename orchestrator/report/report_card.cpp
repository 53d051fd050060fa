#include "orchestrator/report/report_card.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "orchestrator/report/ablation_curves.h"
#include "orchestrator/report/inline_image.h"

namespace radflow::report {
namespace {

using nlohmann::json;
namespace metrics = ml::metrics;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr size_t kMaxOverlays = 4;  // per evaluation: "a few overlays"

json number(double v) { return std::isfinite(v) ? json(v) : json(); }

double recorded(const EvaluationRecord& r, const std::string& metric) {
  auto it = r.metrics.find(metric);
  return it == r.metrics.end() ? kNaN : it->second;
}

// MAE is an error; every other figure of the evaluations is better when higher.
bool higher_is_better(const std::string& metric) {
  return metric.size() < 3 || metric.compare(metric.size() - 3, 3, "mae") != 0;
}

// A [low, high] pair from a step's report.json ("auroc_ci": [0.6, 0.8]).
std::pair<double, double> step_interval(const json& ci) {
  auto bound = [&](size_t i) { return ci.is_array() && ci.size() == 2 && ci[i].is_number() ? ci[i].get<double>() : kNaN; };
  return {bound(0), bound(1)};
}

// An evaluation's predictions read back, with each metric's bootstrap interval.
struct Predictions {
  std::optional<compare::EvaluatedItems> items;
  std::map<std::string, metrics::BootstrapInterval> intervals;
};

Predictions predictions_of(const EvaluationRecord& r, const ReportOptions& options, json* warnings) {
  Predictions out;
  if (r.predictions_path.empty()) {
    warnings->push_back("run " + std::to_string(r.provenance.run_id) + " step " + r.provenance.step +
                        ": no predictions output, so no bootstrap intervals or paired differences");
    return out;
  }
  auto items =
      compare::read_evaluated_items(r.kind, r.predictions_path, r.name_in_step, compare::MetricSet::kWithItems);
  if (!items.ok()) {
    warnings->push_back("run " + std::to_string(r.provenance.run_id) + " step " + r.provenance.step + ": " +
                        items.status().message());
    return out;
  }
  const auto intervals = compare::intervals_of(*items, options.bootstrap);
  for (size_t m = 0; m < items->metrics.size(); ++m) out.intervals[items->metrics[m].name] = intervals[m];
  out.items = std::move(*items);
  return out;
}

class RowBuilder {
 public:
  RowBuilder(const EvaluationRecord& r, size_t source, const Predictions& p) : r_(r), p_(p) {
    row_ = {{"encoder", r.encoder}, {"encoder_key", r.encoder_key}, {"source", source}, {"figures", json::object()}};
  }
  // `metric` with the interval the step wrote, else its bootstrap over the predictions.
  void add(const std::string& metric, std::pair<double, double> step_ci = {kNaN, kNaN}) {
    const char* from = nullptr;
    double low = step_ci.first, high = step_ci.second;
    if (std::isfinite(low) && std::isfinite(high)) {
      from = "step";
    } else if (auto it = p_.intervals.find(metric); it != p_.intervals.end()) {
      low = it->second.low, high = it->second.high, from = "predictions";
    }
    // The name the step recorded it under (demographics: "<encoder>.<metric>").
    const std::string recorded_as = r_.name_in_step.empty() ? metric : r_.name_in_step + "." + metric;
    row_["figures"][metric] = {{"value", number(recorded(r_, metric))},
                               {"low", number(low)},
                               {"high", number(high)},
                               {"metric", metric},
                               {"recorded_as", recorded_as},
                               {"interval", from ? json(from) : json()},
                               {"source", row_["source"]}};
  }
  json take() { return std::move(row_); }

 private:
  const EvaluationRecord& r_;
  const Predictions& p_;
  json row_;
};

// The per-item entries of a step's report.json ("findings", "structures").
std::vector<json> report_items(const EvaluationRecord& r, const char* list) {
  std::vector<json> out;
  if (r.report.is_object() && r.report.contains(list) && r.report[list].is_array()) {
    for (const auto& item : r.report[list]) out.push_back(item);
  }
  return out;
}

json column(const std::string& metric, const std::string& label) {
  return {{"metric", metric}, {"label", label}, {"higher_is_better", higher_is_better(metric)}};
}

// A per-item metric: recorded as "<metric>.<item>", its interval in report.json's
// item entry under `ci_key`.
struct ItemMetric {
  std::string metric;
  std::string label;
  std::string ci_key;
};

struct SectionSpec {
  const char* kind;
  const char* title;
  const char* item_label;  // per-item tables: "finding", "structure"; "" none
  const char* report_list;  // where report.json lists the items, each with item_label's
                            // name and its metrics' intervals
  // Headline metrics; report.json may give each one's interval as "<metric>_ci".
  std::vector<std::pair<std::string, std::string>> columns;
  std::vector<ItemMetric> item_metrics;
};

const std::vector<SectionSpec>& section_specs() {
  static const std::vector<SectionSpec> specs = {
      {"probe", "Linear probe: findings", "finding", "findings",
       {{"macro_auprc", "macro AUPRC"}, {"macro_auroc", "macro AUROC"}},
       {{"auprc", "AUPRC", "auprc_ci"}, {"auroc", "AUROC", "auroc_ci"}}},
      {"segment", "Segmentation", "structure", "structures",
       {{"mean_dice", "mean Dice"}, {"mean_iou", "mean IoU"}},
       {{"dice", "Dice", "dice_ci"}, {"iou", "IoU", "iou_ci"}}},
      {"report", "Report generation", "finding", "findings",
       {{"bleu4", "BLEU-4"}, {"rouge_l", "ROUGE-L"}, {"finding_f1_macro", "finding F1 (macro)"}},
       {{"finding_f1", "finding F1", "f1_ci"}}},
      {"demographics", "Demographics: what the features tell of the patient", "", "", {}, {}},
  };
  return specs;
}

// One evaluation's row of its section; adds the per-item names (findings, structures) it meets.
json row_of(const SectionSpec& spec, const EvaluationRecord& r, size_t source, const Predictions& p,
            std::vector<std::string>* item_names, json* columns, const ReportOptions& options) {
  RowBuilder row(r, source, p);
  auto note_item = [&](const std::string& name) {
    if (std::find(item_names->begin(), item_names->end(), name) == item_names->end()) item_names->push_back(name);
  };
  if (r.kind != "demographics") {
    for (const auto& [metric, label] : spec.columns) {
      row.add(metric, step_interval(r.report.is_object() ? r.report.value(metric + "_ci", json()) : json()));
    }
    for (const auto& item : report_items(r, spec.report_list)) {
      const std::string name = item.value(spec.item_label, "");
      note_item(name);
      for (const auto& m : spec.item_metrics) {
        row.add(m.metric + "." + name, step_interval(item.value(m.ci_key, json())));
      }
    }
  } else {  // demographics: every field's metrics, with the plugin's own intervals
    const json encoders = r.report.is_object() ? r.report.value("encoders", json::array()) : json::array();
    for (const auto& encoder : encoders) {
      if (encoder.value("name", "") != r.name_in_step) continue;
      for (const auto& field : encoder.value("fields", json::array())) {
        const json field_metrics = field.value("metrics", json::object());
        for (const auto& [m, v] : field_metrics.items()) {
          const std::string name = field.value("field", "");  // report.json: fields[].field
          const std::string metric = name + "_" + m;
          row.add(metric, step_interval(v.value("ci", json())));
          bool known = false;
          for (const auto& c : *columns) known = known || c["metric"] == metric;
          if (!known) columns->push_back(column(metric, name + " " + m));
        }
      }
    }
  }
  json built = row.take();
  if (r.overlays_artifact) {
    json overlays = json::array();
    for (size_t i = 0; i < r.overlay_files.size() && i < kMaxOverlays; ++i) {
      json overlay = {{"artifact", r.overlays_artifact}, {"path", r.overlay_files[i]}};
      if (static_cast<int>(i) < options.embed_overlays) {
        auto uri = png_data_uri(r.overlays_dir + "/" + r.overlay_files[i]);
        if (uri.ok()) overlay["data_uri"] = *uri;
      }
      overlays.push_back(overlay);
    }
    built["overlays"] = overlays;
  }
  return built;
}

json interval_json(const metrics::BootstrapInterval& ci) {
  return {{"point", number(ci.point)}, {"low", number(ci.low)}, {"high", number(ci.high)},
          {"valid_resamples", ci.n_valid}};
}

// A per-item metric's parts: "auprc.effusion" -> {"auprc", "effusion"}; a headline
// metric has no item ("").
std::pair<std::string, std::string> item_metric_of(const std::string& metric) {
  const size_t dot = metric.find('.');
  if (dot == std::string::npos) return {metric, ""};
  return {metric.substr(0, dot), metric.substr(dot + 1)};
}

// The first encoder of the section against each other one, metric by metric: the
// headline metrics and each finding's or structure's, all on the same resamples.
json differences(const std::vector<const EvaluationRecord*>& records, const std::vector<size_t>& sources,
                 const std::vector<Predictions>& predictions, const ReportOptions& options, json* warnings) {
  json out = json::array();
  size_t ref = 0;
  while (ref < records.size() && !predictions[ref].items) ++ref;
  for (size_t o = ref + 1; o < records.size(); ++o) {
    if (!predictions[o].items) continue;
    auto compared = compare::compare_paired(*predictions[ref].items, *predictions[o].items, records[ref]->encoder,
                                            records[o]->encoder, options.bootstrap);
    if (!compared.ok()) {
      warnings->push_back(records[ref]->kind + ": " + compared.status().message());
      continue;
    }
    for (const auto& c : *compared) {
      const auto [item_metric, item] = item_metric_of(c.metric.name);
      out.push_back({{"metric", c.metric.name},
                     {"item_metric", item_metric},
                     {"item", item.empty() ? json() : json(item)},
                     {"higher_is_better", c.metric.direction == metrics::Direction::kHigherIsBetter},
                     {"reference", records[ref]->encoder},
                     {"other", records[o]->encoder},
                     {"reference_source", sources[ref]},
                     {"other_source", sources[o]},
                     {"reference_value", interval_json(c.paired.a)},
                     {"other_value", interval_json(c.paired.b)},
                     {"difference", interval_json(c.paired.difference)},
                     {"verdict", metrics::verdict_name(c.verdict)},
                     {"significant", c.verdict != metrics::Verdict::kNoClearDifference},
                     {"test_items", predictions[ref].items->paths.size()}});
    }
  }
  return out;
}

json provenance_json(const EvaluationRecord& r) {
  const Provenance& p = r.provenance;
  return {{"encoder", r.encoder},
          {"run_id", p.run_id},
          {"step", p.step},
          {"metrics_from", {{"run_id", p.metrics_run_id}, {"step", p.metrics_step}}},
          {"plugin", p.plugin},
          {"plugin_version", p.plugin_version},
          {"plugin_sha256", p.plugin_sha256},
          {"features_step", p.features_step},
          {"checkpoint_sha256", p.checkpoint_sha256.empty() ? json() : json(p.checkpoint_sha256)},
          {"dataset_sha256", p.dataset_sha256.empty() ? json() : json(p.dataset_sha256)},
          {"predictions_sha256", p.predictions_sha256.empty() ? json() : json(p.predictions_sha256)}};
}

}  // namespace

json build_report_card(const ReportInputs& inputs, const ReportOptions& options) {
  json warnings = json::array();
  json provenance = json::array();
  for (const auto& r : inputs.evaluations) provenance.push_back(provenance_json(r));
  json sections = json::array();
  for (const auto& spec : section_specs()) {
    std::vector<const EvaluationRecord*> records;
    std::vector<size_t> sources;
    for (size_t i = 0; i < inputs.evaluations.size(); ++i) {
      if (inputs.evaluations[i].kind == spec.kind) records.push_back(&inputs.evaluations[i]), sources.push_back(i);
    }
    if (records.empty()) continue;
    json columns = json::array();
    for (const auto& [metric, label] : spec.columns) columns.push_back(column(metric, label));
    std::vector<Predictions> predictions;
    std::vector<std::string> item_names;
    json rows = json::array();
    for (size_t k = 0; k < records.size(); ++k) {
      predictions.push_back(predictions_of(*records[k], options, &warnings));
      rows.push_back(row_of(spec, *records[k], sources[k], predictions.back(), &item_names, &columns, options));
    }
    json item_metrics = json::array();
    for (const auto& m : spec.item_metrics) item_metrics.push_back(column(m.metric, m.label));
    sections.push_back({{"kind", spec.kind},
                        {"title", spec.title},
                        {"columns", columns},
                        {"items", {{"label", spec.item_label}, {"names", item_names}, {"metrics", item_metrics}}},
                        {"encoders", rows},
                        {"differences", differences(records, sources, predictions, options, &warnings)}});
  }
  json runs = json::array();
  for (const auto& r : inputs.runs) {
    runs.push_back({{"id", r.id}, {"name", r.name}, {"status", r.status}, {"workflow", r.workflow},
                    {"worker_sha256", r.worker_sha256.empty() ? json() : json(r.worker_sha256)}});
  }
  return {{"schema", 1},
          {"runs", runs},
          {"bootstrap",
           {{"resamples", options.bootstrap.resamples}, {"seed", options.bootstrap.seed},
            {"alpha", options.bootstrap.alpha}}},
          {"sections", sections},
          {"ablations", ablation_curves(inputs, sections)},
          {"provenance", provenance},
          {"warnings", warnings}};
}

Result<json> report_card_of_runs(storage::Store& store, const storage::ArtifactStore& artifacts,
                                 const std::vector<int64_t>& run_ids, const ReportOptions& options) {
  if (run_ids.empty()) {
    return Status::error("bad_request", "a report card needs at least one run id (runs=1,2)", "runs");
  }
  RF_ASSIGN_OR_RETURN(auto inputs, read_evaluations(store, artifacts, run_ids));
  return build_report_card(inputs, options);
}

}  // namespace radflow::report
