#include "tests/report/two_encoder_run.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "plugins/compare/evaluated_items.h"

namespace radflow::report::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kItems = 60;
const std::vector<std::string> kFindings = {"effusion", "nodule"};
const std::vector<std::string> kStructures = {"lungs", "heart"};
// A 4x4 grey gradient PNG: what the segment step's overlays folder holds.
const unsigned char kPng[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, 0x8c, 0x9a, 0xc1,
    0xa2, 0x00, 0x00, 0x00, 0x17, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0xd0, 0x08, 0xa8,
    0x00, 0xe1, 0x05, 0x0c, 0x40, 0x7c, 0x82, 0x01, 0x88, 0x3f, 0x00, 0x00, 0x38, 0x54, 0x07, 0x81,
    0x88, 0x3e, 0x8d, 0xc3, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

std::string item_path(int i) { return "images/case" + std::to_string(i) + ".dcm"; }

class Recorder {
 public:
  Recorder(storage::Store& store, storage::ArtifactStore& artifacts, std::string scratch)
      : store_(store), artifacts_(artifacts), scratch_(std::move(scratch)) {}

  std::string scratch(const std::string& name) {
    const fs::path p = fs::path(scratch_) / std::to_string(++files_) / name;
    fs::create_directories(p.parent_path());
    return p.string();
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = scratch(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Finishes step `name` of run `run` as one succeeded attempt that read `inputs`
  // (input name -> producing step's output) and wrote `outputs` (name -> path).
  Status finish(int64_t run, const std::string& name, const std::map<std::string, std::string>& inputs,
                const std::map<std::string, std::string>& outputs, const std::map<std::string, double>& metrics) {
    RF_ASSIGN_OR_RETURN(auto step, store_.find_step(run, name));
    storage::Store::AttemptStart start{step.id, 1, "cpu", {}};
    for (const auto& [input, source] : inputs) start.inputs.emplace_back(input, produced_.at(source));
    RF_ASSIGN_OR_RETURN(const int64_t attempt, store_.begin_attempt(start));
    std::vector<storage::MetricPoint> points;
    for (const auto& [metric, value] : metrics) points.push_back({step.id, attempt, metric, 0, value});
    store_.append_metrics(points);
    std::vector<storage::ArtifactRecord> records;
    std::vector<std::string> names;
    for (const auto& [output, path] : outputs) {
      RF_ASSIGN_OR_RETURN(auto stored, artifacts_.put(path));
      storage::ArtifactRecord record;
      record.digest = stored.digest;
      record.kind = stored.kind;
      record.size_bytes = stored.size_bytes;
      record.output_name = output;
      records.push_back(record);
      names.push_back(output);
    }
    RF_ASSIGN_OR_RETURN(auto ids, store_.finish_attempt_with_outputs(attempt, {"succeeded", "ok", "", 0, {}}, step.id,
                                                                      {"succeeded", "", ""}, records));
    for (size_t i = 0; i < ids.size(); ++i) produced_[name + "." + names[i]] = ids[i];
    store_.flush();
    return Status();
  }

 private:
  storage::Store& store_;
  storage::ArtifactStore& artifacts_;
  std::string scratch_;
  int files_ = 0;
  std::map<std::string, int64_t> produced_;  // "step.output" -> artifact id
};

storage::NewStep step_of(const std::string& name, const std::string& plugin, int position,
                         const std::vector<storage::NewStepInput>& inputs, const json& params = json::object()) {
  storage::NewStep step;
  step.name = name;
  step.plugin = plugin;
  step.plugin_version = "0.1.0";
  step.plugin_sha256 = std::string(64, static_cast<char>('a' + position % 6));
  step.params_json = params.dump();
  step.position = position;
  step.inputs = inputs;
  return step;
}

// Every metric of a predictions file (per finding and structure too) as the compare
// library evaluates it on every item: what the plugins record.
std::map<std::string, double> evaluated(const std::string& kind, const std::string& path,
                                        const std::string& encoder = "") {
  auto items = compare::read_evaluated_items(kind, path, encoder, compare::MetricSet::kWithItems);
  std::map<std::string, double> out;
  if (!items.ok()) return out;
  std::vector<size_t> all(items->paths.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  for (size_t m = 0; m < items->metrics.size(); ++m) out[items->metrics[m].name] = items->evaluate(m, all);
  return out;
}

// How well an encoder does: per finding how well its scores separate (0 random),
// per structure its mean Dice, and which test reports (i % 3) it writes correctly.
struct Quality {
  std::string name;
  std::vector<double> signal;  // per finding
  std::vector<double> dice;    // per structure
  std::vector<int> correct_reports;
};

// The interval a plugin writes into report.json for `metric` ([value - below, value +
// above]), also recorded as "<metric>.low" and "<metric>.high" as the plugin's
// final_metric() does.
json step_ci(std::map<std::string, double>* metrics, const std::string& metric, double below, double above) {
  const double value = metrics->at(metric);
  (*metrics)[metric + ".low"] = value - below;
  (*metrics)[metric + ".high"] = value + above;
  return {value - below, value + above};
}

// A report text saying what it finds, and the labels the labeller would give it.
std::string report_text(int effusion, int nodule) {
  return std::string(effusion ? "small left effusion." : "no effusion.") + (nodule ? " a small nodule." : " no nodule.");
}

}  // namespace

Result<int64_t> record_two_encoder_run(storage::Store& store, storage::ArtifactStore& artifacts,
                                       const std::string& scratch_dir, const std::string& workflow,
                                       uint64_t seed) {
  // Clear differences (effusion, lungs, the reports) and none (nodule, heart: equal).
  const std::vector<Quality> encoders = {{"pretrained", {2.5, 0.0}, {0.85, 0.6}, {1, 2}},
                                         {"random", {0.0, 0.0}, {0.55, 0.6}, {1}}};
  storage::NewRun run;
  run.name = workflow;
  int position = 0;
  run.steps.push_back(step_of("dataset", "dataset", position++, {}));
  run.steps.push_back(step_of("pretrain", "pretrain", position++, {{"dataset", "dataset", "dataset"}}));
  run.steps.push_back(step_of("random-init", "pretrain", position++, {{"dataset", "dataset", "dataset"}}));
  // Features at two image sizes: an ablation-resolution workflow's axis.
  for (const auto& [encoder, made_by, size] : {std::tuple{"pretrained", "pretrain", 224}, std::tuple{"random", "random-init", 518}}) {
    run.steps.push_back(step_of(std::string("features-") + encoder, "features", position++,
                                {{"dataset", "dataset", "dataset"}, {"encoder", made_by, "encoder"}},
                                {{"image_size", size}}));
  }
  // The random encoder's evaluations come first in the store's (topological) order, the
  // pretrained one's first in the workflow text: the report follows the text.
  for (auto e = encoders.rbegin(); e != encoders.rend(); ++e) {
    const std::vector<storage::NewStepInput> features = {{"features", "features-" + e->name, "features"}};
    run.steps.push_back(step_of("probe-" + e->name, "probe", position++, features));
    run.steps.push_back(step_of("segment-" + e->name, "segment", position++, features));
    run.steps.push_back(step_of("report-" + e->name, "report-gen", position++, features));
  }
  run.steps.push_back(step_of("demographics", "demographic-correlation", position++,
                              {{"features", "features-pretrained", "features"},
                               {"features_2", "features-random", "features"}}));
  nlohmann::ordered_json declared = nlohmann::ordered_json::object();
  for (const char* name : {"dataset", "pretrain", "random-init", "features-pretrained", "features-random",
                           "probe-pretrained", "segment-pretrained", "report-pretrained", "probe-random",
                           "segment-random", "report-random", "demographics"}) {
    declared[name] = nlohmann::ordered_json::object();
  }
  run.workflow_json = nlohmann::ordered_json{{"name", workflow}, {"steps", declared}}.dump();
  RF_ASSIGN_OR_RETURN(const int64_t run_id, store.create_run(run));

  Recorder r(store, artifacts, scratch_dir);
  RF_RETURN_IF_ERROR(r.finish(run_id, "dataset", {}, {{"dataset", r.write("manifest.jsonl", "{}\n")}}, {}));
  RF_RETURN_IF_ERROR(r.finish(run_id, "pretrain", {{"dataset", "dataset.dataset"}},
                              {{"encoder", r.write("encoder.safetensors", "trained")}}, {}));
  RF_RETURN_IF_ERROR(r.finish(run_id, "random-init", {{"dataset", "dataset.dataset"}},
                              {{"encoder", r.write("encoder.safetensors", "random")}}, {}));
  RF_RETURN_IF_ERROR(r.finish(run_id, "features-pretrained",
                              {{"dataset", "dataset.dataset"}, {"encoder", "pretrain.encoder"}},
                              {{"features", r.write("features.safetensors", "pretrained features")}}, {}));
  RF_RETURN_IF_ERROR(r.finish(run_id, "features-random",
                              {{"dataset", "dataset.dataset"}, {"encoder", "random-init.encoder"}},
                              {{"features", r.write("features.safetensors", "random features")}}, {}));

  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<int> sex(kItems), labels(kItems * kFindings.size());
  std::vector<double> age(kItems);
  for (int i = 0; i < kItems; ++i) {
    sex[i] = i % 2;
    age[i] = 30 + (i * 7) % 50;
    for (size_t f = 0; f < kFindings.size(); ++f) labels[i * kFindings.size() + f] = (i * (f + 3)) % 5 < 2;
  }
  std::string demographics_jsonl;
  json demographics_report = {{"encoders", json::array()}};
  std::map<std::string, double> demographics_metrics;
  for (const auto& e : encoders) {
    const std::map<std::string, std::string> reads = {{"features", "features-" + e.name + ".features"}};
    // probe: predictions.csv and report.json with per-finding intervals.
    std::string csv = "path,finding,label,score\n";
    for (int i = 0; i < kItems; ++i) {
      for (size_t f = 0; f < kFindings.size(); ++f) {
        const int y = labels[i * kFindings.size() + f];
        csv += "\"" + item_path(i) + "\"," + kFindings[f] + "," + std::to_string(y) + "," +
               std::to_string(e.signal[f] * y + noise(rng)) + "\n";
      }
    }
    const std::string probe_csv = r.write("predictions.csv", csv);
    std::map<std::string, double> probe = evaluated("probe", probe_csv);
    json findings = json::array();
    for (size_t f = 0; f < kFindings.size(); ++f) {
      // The plugin's own intervals (value - 0.05, value + 0.04): the card shows these.
      // No macro interval: the probe writes none, so the card bootstraps those.
      const std::string auroc = "auroc." + kFindings[f], auprc = "auprc." + kFindings[f];
      findings.push_back({{"finding", kFindings[f]}, {"auroc", probe.at(auroc)},
                          {"auroc_ci", step_ci(&probe, auroc, 0.05, 0.04)}, {"auprc", probe.at(auprc)},
                          {"auprc_ci", step_ci(&probe, auprc, 0.06, 0.05)}});
    }
    RF_RETURN_IF_ERROR(r.finish(run_id, "probe-" + e.name, reads,
                                {{"report", r.write("report.json", json{{"findings", findings}}.dump())},
                                 {"predictions", probe_csv}},
                                probe));
    // segment: predictions/overlap.csv, overlays/*.png, report.json with intervals.
    const std::string predictions_dir = fs::path(r.scratch("predictions/overlap.csv")).parent_path().string();
    std::ofstream overlap(predictions_dir + "/overlap.csv");
    overlap << "path,structure,pred_pixels,true_pixels,intersection,union,dice,iou\n";
    for (int i = 0; i < kItems; ++i) {
      for (size_t s = 0; s < kStructures.size(); ++s) {
        const double dice = std::min(1.0, e.dice[s] + 0.05 * noise(rng));
        overlap << std::setprecision(17) << item_path(i) << "," << kStructures[s] << ",1,1,1,1," << dice << ","
                << dice / (2 - dice) << "\n";
      }
    }
    overlap.close();
    std::map<std::string, double> segment = evaluated("segment", predictions_dir);
    json structures = json::array();
    for (size_t s = 0; s < kStructures.size(); ++s) {
      const std::string dice = "dice." + kStructures[s], iou = "iou." + kStructures[s];
      structures.push_back({{"structure", kStructures[s]}, {"dice", segment.at(dice)},
                            {"dice_ci", step_ci(&segment, dice, 0.03, 0.02)}, {"iou", segment.at(iou)},
                            {"iou_ci", step_ci(&segment, iou, 0.03, 0.02)}});
    }
    const json segment_report = {{"structures", structures},
                                 {"mean_dice_ci", step_ci(&segment, "mean_dice", 0.03, 0.02)},
                                 {"mean_iou_ci", step_ci(&segment, "mean_iou", 0.04, 0.03)}};
    const std::string overlays = fs::path(r.scratch("overlays/0_case0.png")).parent_path().string();
    std::ofstream(overlays + "/0_case0.png", std::ios::binary).write(reinterpret_cast<const char*>(kPng), sizeof kPng);
    RF_RETURN_IF_ERROR(r.finish(run_id, "segment-" + e.name, reads,
                                {{"report", r.write("report.json", segment_report.dump())},
                                 {"predictions", predictions_dir},
                                 {"overlays", overlays}},
                                segment));
    // report-gen: the reference where the encoder writes this report correctly, else
    // "no effusion. no nodule." (the pretrained encoder gets two thirds right, the
    // random one a third).
    std::string jsonl;
    for (int i = 0; i < kItems; ++i) {
      const int effusion = labels[i * kFindings.size()], nodule = labels[i * kFindings.size() + 1];
      const bool correct = std::find(e.correct_reports.begin(), e.correct_reports.end(), i % 3) != e.correct_reports.end();
      jsonl += json{{"path", item_path(i)}, {"reference", report_text(effusion, nodule)},
                    {"generated", correct ? report_text(effusion, nodule) : report_text(0, 0)},
                    {"reference_labels", {{"effusion", effusion}, {"nodule", nodule}}},
                    {"generated_labels", {{"effusion", correct ? effusion : 0}, {"nodule", correct ? nodule : 0}}}}
                   .dump() +
               "\n";
    }
    const std::string report_jsonl = r.write("predictions.jsonl", jsonl);
    std::map<std::string, double> report = evaluated("report", report_jsonl);
    json report_findings = json::array();
    for (const auto& f : kFindings) {
      report_findings.push_back({{"finding", f}, {"f1", report.at("finding_f1." + f)},
                                 {"f1_ci", step_ci(&report, "finding_f1." + f, 0.07, 0.06)}});
    }
    const json report_json = {{"findings", report_findings},
                              {"bleu4_ci", step_ci(&report, "bleu4", 0.02, 0.01)},
                              {"rouge_l_ci", step_ci(&report, "rouge_l", 0.02, 0.01)},
                              {"finding_f1_macro_ci", step_ci(&report, "finding_f1_macro", 0.05, 0.04)}};
    RF_RETURN_IF_ERROR(r.finish(run_id, "report-" + e.name, reads,
                                {{"report", r.write("report.json", report_json.dump())},
                                 {"predictions", report_jsonl}},
                                report));
    // demographics: this encoder's lines of the step's predictions.jsonl.
    for (int i = 0; i < kItems; ++i) {
      demographics_jsonl += json{{"encoder", e.name}, {"field", "sex"}, {"path", item_path(i)},
                                 {"truth", sex[i] ? "F" : "M"}, {"truth_class", sex[i]},
                                 {"score", e.signal[0] * sex[i] + noise(rng)}}
                                .dump() +
                            "\n";
      demographics_jsonl += json{{"encoder", e.name}, {"field", "age"}, {"path", item_path(i)}, {"truth", age[i]},
                                 {"prediction", age[i] + (12 - 3 * e.signal[0]) * noise(rng)}}
                                .dump() +
                            "\n";
    }
  }
  const std::string demographics_path = r.write("predictions.jsonl", demographics_jsonl);
  for (size_t k = 0; k < encoders.size(); ++k) {
    const std::string name = encoders[k].name;
    json fields = json::array();
    const auto values = evaluated("demographics", demographics_path, name);
    for (const auto& [metric, value] : values) demographics_metrics[name + "." + metric] = value;
    auto metric = [&](const std::string& m) {
      const double v = values.at(m);
      demographics_metrics[name + "." + m + ".low"] = v - 0.1;
      demographics_metrics[name + "." + m + ".high"] = v + 0.1;
      return json{{"value", v}, {"ci", {v - 0.1, v + 0.1}}};
    };
    fields.push_back({{"field", "sex"}, {"metrics", {{"auroc", metric("sex_auroc")}}}});
    fields.push_back({{"field", "age"}, {"metrics", {{"r2", metric("age_r2")}, {"mae", metric("age_mae")}}}});
    demographics_report["encoders"].push_back(
        {{"name", name}, {"input", k == 0 ? "features" : "features_2"}, {"fields", fields}});
  }
  RF_RETURN_IF_ERROR(r.finish(run_id, "demographics",
                              {{"features", "features-pretrained.features"}, {"features_2", "features-random.features"}},
                              {{"report", r.write("report.json", demographics_report.dump())},
                               {"predictions", demographics_path}},
                              demographics_metrics));
  RF_RETURN_IF_ERROR(store.set_run_status(run_id, "succeeded", ""));
  return run_id;
}

}  // namespace radflow::report::testing
