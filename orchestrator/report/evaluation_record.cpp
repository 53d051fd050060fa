#include "orchestrator/report/evaluation_record.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

namespace radflow::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The evaluation plugins the report reads, and the compare kind of their predictions.
const std::map<std::string, std::string>& evaluation_kinds() {
  static const std::map<std::string, std::string> kinds = {{"probe", "probe"},
                                                           {"segment", "segment"},
                                                           {"report-gen", "report"},
                                                           {"demographic-correlation", "demographics"}};
  return kinds;
}

json parse_or(const std::string& text, json fallback) {
  json parsed = json::parse(text, nullptr, false);
  return parsed.is_discarded() ? fallback : parsed;
}

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  json parsed = json::parse(in, nullptr, false);
  return parsed.is_discarded() ? json() : parsed;
}

// The step whose attempts and metrics hold a step's results: itself, or for a cached
// step the step it was served from.
Result<storage::StepRecord> results_step(storage::Store& store, const storage::StepRecord& step) {
  if (!step.cached_from_step) return step;
  return store.get_step(step.cached_from_step);
}

Result<std::map<std::string, double>> final_metrics(storage::Store& store, int64_t step_id) {
  RF_ASSIGN_OR_RETURN(auto points, store.metric_series(step_id, storage::AttemptSelector::latest(), 0));
  std::map<std::string, double> out;
  for (const auto& p : points) out[p.name] = p.value;  // ordered by iteration: the last wins
  return out;
}

// Input name -> digest of what the step's latest attempt read (lineage).
Result<std::map<std::string, std::string>> inputs_read(storage::Store& store, const storage::StepRecord& step) {
  RF_ASSIGN_OR_RETURN(auto source, results_step(store, step));
  RF_ASSIGN_OR_RETURN(auto attempts, store.attempts_of_step(source.id));
  std::map<std::string, std::string> out;
  if (attempts.empty()) return out;
  RF_ASSIGN_OR_RETURN(auto read, store.inputs_of_attempt(attempts.back().id));
  for (const auto& in : read) out[in.input_name] = in.artifact.digest;
  return out;
}

const storage::NewStepInput* input_named(const storage::StepRecord& step, const std::string& name) {
  for (const auto& in : step.inputs) {
    if (in.input_name == name) return &in;
  }
  return nullptr;
}

struct Run {
  storage::RunRecord record;
  std::map<std::string, storage::StepRecord> steps;
};

// Fills the provenance and params of the encoder behind `features_input` of `step`.
Status describe_encoder(storage::Store& store, const Run& run, const storage::StepRecord& step,
                        const std::string& features_input, EvaluationRecord* record) {
  const storage::NewStepInput* in = input_named(step, features_input);
  const std::string features_name = in ? in->source_step : "";
  record->provenance.features_step = features_name;
  record->encoder_key = std::to_string(run.record.id) + "/" + (features_name.empty() ? step.name : features_name);
  auto features = run.steps.find(features_name);
  if (features == run.steps.end()) return Status();
  record->encoder_params["features"] = parse_or(features->second.params_json, json::object());
  RF_ASSIGN_OR_RETURN(auto read, inputs_read(store, features->second));
  record->provenance.checkpoint_sha256 = read.count("encoder") ? read["encoder"] : "";
  record->provenance.dataset_sha256 = read.count("dataset") ? read["dataset"] : "";
  if (const auto* encoder = input_named(features->second, "encoder")) {
    auto made_by = run.steps.find(encoder->source_step);
    if (made_by != run.steps.end()) {
      record->encoder_params["pretrain"] = parse_or(made_by->second.params_json, json::object());
    }
  }
  return Status();
}

std::vector<std::string> png_files(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".png") {
      files.push_back(fs::relative(it->path(), dir).string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The records of one evaluation step (several for demographic-correlation).
Result<std::vector<EvaluationRecord>> records_of_step(storage::Store& store,
                                                      const storage::ArtifactStore& artifacts, const Run& run,
                                                      const storage::StepRecord& step, const std::string& kind) {
  EvaluationRecord base;
  base.kind = kind;
  base.provenance.run_id = run.record.id;
  base.provenance.step = step.name;
  base.provenance.plugin = step.plugin;
  base.provenance.plugin_version = step.plugin_version;
  base.provenance.plugin_sha256 = step.plugin_sha256;
  RF_ASSIGN_OR_RETURN(auto source, results_step(store, step));
  base.provenance.metrics_run_id = source.run_id;
  base.provenance.metrics_step = source.name;
  RF_ASSIGN_OR_RETURN(auto metrics, final_metrics(store, source.id));
  RF_ASSIGN_OR_RETURN(auto outputs, store.outputs_of_step(step.id));
  for (const auto& out : outputs) {
    const std::string path = artifacts.path_of(out.digest);
    if (out.output_name == "report") base.report = read_json_file(path);
    if (out.output_name == "predictions") {
      base.predictions_path = path;
      base.provenance.predictions_sha256 = out.digest;
    }
    if (out.output_name == "overlays" && out.kind == "dir") {
      base.overlays_artifact = out.id;
      base.overlays_dir = path;
      base.overlay_files = png_files(path);
    }
  }
  std::vector<EvaluationRecord> records;
  if (kind != "demographics") {
    base.metrics = std::move(metrics);
    RF_RETURN_IF_ERROR(describe_encoder(store, run, step, "features", &base));
    records.push_back(std::move(base));
    return records;
  }
  // One record per encoder of the step, its metrics without the "<name>." prefix.
  const json encoders = base.report.is_object() ? base.report.value("encoders", json::array()) : json::array();
  for (const auto& encoder : encoders) {
    EvaluationRecord record = base;
    record.name_in_step = encoder.value("name", "");
    const std::string prefix = record.name_in_step + ".";
    for (const auto& [name, value] : metrics) {
      if (name.rfind(prefix, 0) == 0) record.metrics[name.substr(prefix.size())] = value;
    }
    RF_RETURN_IF_ERROR(describe_encoder(store, run, step, encoder.value("input", "features"), &record));
    records.push_back(std::move(record));
  }
  return records;
}

// The steps in the order the workflow declares them (the store keeps a topological
// order): a section's first encoder, the reference of its paired differences, is then
// the one the author wrote first (demo.json: pretrained, before random init and pixels).
std::vector<storage::StepRecord> in_declared_order(std::vector<storage::StepRecord> steps,
                                                   const std::string& workflow_json) {
  const auto workflow = nlohmann::ordered_json::parse(workflow_json, nullptr, false);
  std::map<std::string, size_t> declared;
  if (workflow.is_object() && workflow.contains("steps") && workflow["steps"].is_object()) {
    for (const auto& [name, step] : workflow["steps"].items()) declared.emplace(name, declared.size());
  }
  auto rank = [&](const storage::StepRecord& s) {
    auto it = declared.find(s.name);
    return it == declared.end() ? declared.size() : it->second;
  };
  std::stable_sort(steps.begin(), steps.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  return steps;
}

// "features-pretrained" -> "pretrained"; a step named otherwise keeps its name.
std::string label_of(const std::string& name) {
  const std::string prefix = "features-";
  return name.rfind(prefix, 0) == 0 && name.size() > prefix.size() ? name.substr(prefix.size()) : name;
}

// Labels every record after its encoder. Two evaluations of one kind on the same
// encoder (a baseline decoder on the pretrained features) are told apart by their
// step names, less the plugin-ish first word ("report-constant" -> "constant").
void label_encoders(std::vector<EvaluationRecord>* records, bool several_runs) {
  std::map<std::pair<std::string, std::string>, int> uses;
  for (const auto& r : *records) ++uses[{r.kind, r.encoder_key}];
  for (auto& r : *records) {
    const auto& p = r.provenance;
    std::string label = label_of(p.features_step.empty() ? p.step : p.features_step);
    if (uses[{r.kind, r.encoder_key}] > 1) {
      const size_t dash = p.step.find('-');
      label = dash == std::string::npos ? p.step : p.step.substr(dash + 1);
      r.encoder_key += "/" + p.step;
    }
    r.encoder = several_runs ? "#" + std::to_string(p.run_id) + " " + label : label;
  }
}

}  // namespace

Result<ReportInputs> read_evaluations(storage::Store& store, const storage::ArtifactStore& artifacts,
                                      const std::vector<int64_t>& run_ids) {
  ReportInputs inputs;
  for (int64_t id : run_ids) {
    Run run;
    RF_ASSIGN_OR_RETURN(run.record, store.get_run(id));
    RF_ASSIGN_OR_RETURN(auto steps, store.steps_of_run(id));
    for (const auto& s : steps) run.steps[s.name] = s;
    RunSummary summary{id, run.record.name, run.record.status, "", ""};
    summary.workflow = parse_or(run.record.workflow_json, json::object()).value("name", run.record.name);
    auto manifest = store.get_run_manifest(id);
    if (manifest.ok()) {
      const json m = parse_or(*manifest, json::object());
      if (m.contains("worker") && m["worker"].value("sha256", json()).is_string()) {
        summary.worker_sha256 = m["worker"]["sha256"];
      }
    }
    inputs.runs.push_back(summary);
    for (const auto& step : in_declared_order(steps, run.record.workflow_json)) {
      auto kind = evaluation_kinds().find(step.plugin);
      if (kind == evaluation_kinds().end() || (step.status != "succeeded" && step.status != "cached")) continue;
      RF_ASSIGN_OR_RETURN(auto records, records_of_step(store, artifacts, run, step, kind->second));
      for (auto& r : records) inputs.evaluations.push_back(std::move(r));
    }
  }
  label_encoders(&inputs.evaluations, run_ids.size() > 1);
  return inputs;
}

}  // namespace radflow::report
