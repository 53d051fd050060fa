// demographic-correlation: how well an encoder's frozen features predict patient-record
// fields that reports do not state — sex, age and any other column of the rows —
// RAD-DINO's demographic/clinical correlation protocol (raddino-method.md §4.4).
// Takes one to eight feature sets of the same images (one per encoder), probes every
// field found for each of them, and writes one table comparing the encoders.
#include <algorithm>
#include <cmath>
#include <fstream>

#include "plugins/demographic-correlation/comparison_table.h"
#include "plugins/demographic-correlation/encoder_inputs.h"
#include "plugins/demographic-correlation/field_probe.h"
#include "plugins/ml/torch/cpu_runtime.h"
#include "radflow/plugin.hpp"

namespace {

namespace dc = radflow::ml::demographic;
using nlohmann::json;

json finite_or_null(double value) { return std::isfinite(value) ? json(value) : json(); }

json numbers(const std::vector<double>& values) {
  json out = json::array();
  for (double v : values) out.push_back(finite_or_null(v));
  return out;
}

json field_json(const dc::RecordField& field) {
  json out = {{"field", field.name},
              {"kind", field.kind == dc::FieldKind::kNumeric ? "numeric" : "categorical"},
              {"source", field.source == dc::FieldSource::kSex   ? "sex"
                         : field.source == dc::FieldSource::kAge ? "age"
                                                                 : "extra." + field.extra_key}};
  if (field.kind == dc::FieldKind::kCategorical) out["classes"] = field.classes;
  if (field.classes.size() == 2) out["positive_class"] = field.classes[1];
  return out;
}

json result_json(const dc::FieldResult& r) {
  json out = field_json(r.field);
  out["train_count"] = r.train_count;
  out["test_count"] = r.test_count;
  out["penalties"] = numbers(r.penalties);
  out["val_scores"] = numbers(r.val_scores);
  out["warning"] = r.warning;
  out["metrics"] = json::object();
  for (const auto& m : r.metrics) {
    out["metrics"][m.name] = {{"value", finite_or_null(m.value)},
                              {"ci", {finite_or_null(m.low), finite_or_null(m.high)}},
                              {"valid_resamples", m.valid_resamples}};
  }
  if (!r.class_auroc.empty()) {
    out["class_auroc"] = json::object();
    for (size_t c = 0; c < r.class_auroc.size(); ++c) {
      out["class_auroc"][r.field.classes[c]] = finite_or_null(r.class_auroc[c]);
    }
  }
  return out;
}

// One JSON line per test sample: exact doubles, so the metrics recompute exactly.
void write_predictions(std::ostream& out, const std::string& encoder, const dc::FieldResult& r,
                       const std::vector<radflow::ml::eval::FeatureRow>& rows) {
  const auto& classes = r.field.classes;
  for (const auto& p : r.predictions) {
    json line = {{"encoder", encoder}, {"field", r.field.name}, {"path", rows[p.row].path}};
    if (r.field.kind == dc::FieldKind::kNumeric) {
      line["truth"] = p.truth_value;
      line["prediction"] = p.predicted_value;
    } else {
      line["truth"] = classes[p.truth_class];
      line["truth_class"] = p.truth_class;  // the column of `scores`; 1 is the positive class of `score`
      line["prediction"] = classes[p.predicted_class];
      if (p.scores.size() == 1) {
        line["score"] = finite_or_null(p.scores[0]);
      } else {
        line["scores"] = json::object();
        for (size_t c = 0; c < p.scores.size(); ++c) line["scores"][classes[c]] = finite_or_null(p.scores[c]);
      }
    }
    out << line.dump() << "\n";
  }
}

int run(radflow::sdk::Context& ctx) {
  radflow::ml::configure_cpu_runtime();
  std::vector<std::pair<std::string, std::string>> bound;
  for (const auto& input : dc::feature_input_names()) {
    if (ctx.has_input(input)) bound.emplace_back(input, ctx.input(input));
  }
  auto encoders = dc::load_encoders(bound, ctx.param<std::vector<std::string>>("names", {}));
  if (!encoders.ok()) {
    ctx.fail(encoders.status().to_string());
    return RF_RUN_FAILED;
  }
  if (radflow::Status agree = dc::check_rows_agree(*encoders); !agree.ok()) {
    ctx.fail(agree.to_string());
    return RF_RUN_FAILED;
  }
  const auto& rows = encoders->front().set.rows;
  for (const char* split : {"train", "val", "test"}) {
    if (std::none_of(rows.begin(), rows.end(), [&](const auto& r) { return r.split == split; })) {
      ctx.fail(std::string("empty_split: the ") + split + " split has no samples");
      return RF_RUN_FAILED;
    }
  }
  auto discovery = dc::discover_fields(rows, ctx.param<int>("max_classes", 20));
  for (const auto& s : discovery.skipped) ctx.log_info("skipping column " + s.name + ": " + s.reason);
  std::vector<dc::RecordField> fields = discovery.fields;
  if (ctx.has_param("fields")) {
    fields.clear();
    for (const auto& name : ctx.param<std::vector<std::string>>("fields")) {
      auto found = std::find_if(discovery.fields.begin(), discovery.fields.end(),
                                [&](const auto& f) { return f.name == name; });
      auto skipped = std::find_if(discovery.skipped.begin(), discovery.skipped.end(),
                                  [&](const auto& s) { return s.name == name; });
      if (found != discovery.fields.end()) {
        fields.push_back(*found);
      } else if (skipped != discovery.skipped.end()) {
        ctx.fail("field \"" + name + "\" cannot be probed: " + skipped->reason);
        return RF_RUN_FAILED;
      } else {
        json known = json::array();
        for (const auto& f : discovery.fields) known.push_back(f.name);
        ctx.fail("field \"" + name + "\" is not a record field of the rows (fields: " + known.dump() + ")");
        return RF_RUN_FAILED;
      }
    }
  }
  if (fields.empty()) {
    ctx.fail("no record field to correlate: the rows have no sex, no age and no usable extra column");
    return RF_RUN_FAILED;
  }
  const std::string pool = ctx.param<std::string>("pool", "cls+mean");
  dc::FieldProbeOptions options;
  options.weight_decays = ctx.param<std::vector<double>>("weight_decays", options.weight_decays);
  options.alphas = ctx.param<std::vector<double>>("alphas", options.alphas);
  options.bootstrap_resamples = ctx.param<int>("bootstrap", 1000);
  const uint64_t seed = ctx.param<uint64_t>("seed", 0);

  json report = {{"pool", pool}, {"fields", json::array()}, {"skipped", json::array()},
                 {"encoders", json::array()}};
  for (const auto& f : fields) report["fields"].push_back(field_json(f));
  for (const auto& s : discovery.skipped) report["skipped"].push_back({{"field", s.name}, {"reason", s.reason}});
  const std::string predictions_path = ctx.output_path("predictions.jsonl");
  std::ofstream predictions(predictions_path);
  std::vector<dc::EncoderResults> results;
  const double steps = static_cast<double>(encoders->size() * fields.size());
  for (const auto& e : *encoders) {
    const torch::Tensor features = pool == "cls" ? e.set.cls : torch::cat({e.set.cls, e.set.mean_patch}, 1);
    ctx.log_info("encoder " + e.name + " (" + e.input + "): " + std::to_string(fields.size()) +
                 " field(s) on " + pool + " features of dimension " + std::to_string(features.size(1)));
    dc::EncoderResults encoder{e.name, {}};
    json encoder_json = {{"name", e.name}, {"input", e.input}, {"dim", features.size(1)},
                         {"fields", json::array()}};
    for (size_t f = 0; f < fields.size(); ++f) {
      if (ctx.cancelled()) return RF_RUN_CANCELLED;
      ctx.progress(static_cast<double>(results.size() * fields.size() + f) / steps,
                   e.name + ": " + fields[f].name);
      options.seed = seed + 16 * f;  // the same resamples for every encoder
      auto r = dc::probe_field(fields[f], features, rows, options);
      if (!r.ok()) {
        ctx.fail("encoder " + e.name + ", field " + fields[f].name + ": " + r.status().to_string());
        return RF_RUN_FAILED;
      }
      if (!r->warning.empty()) ctx.log_warning(e.name + ": " + r->warning + ": its metrics are NaN");
      for (const auto& m : r->metrics) ctx.final_metric(e.name + "." + fields[f].name + "_" + m.name, m.value, m.low, m.high);
      write_predictions(predictions, e.name, *r, rows);
      encoder_json["fields"].push_back(result_json(*r));
      encoder.fields.push_back(std::move(r).value());
    }
    report["encoders"].push_back(std::move(encoder_json));
    results.push_back(std::move(encoder));
  }
  predictions.close();
  report["table"] = dc::comparison_table(results);
  for (const auto& [name, rank] : report["table"]["mean_rank"].items()) {
    ctx.metric(name + ".mean_rank", 0, rank.is_number() ? rank.get<double>() : std::nan(""));
  }
  const std::string report_path = ctx.output_path("report.json");
  std::ofstream(report_path) << report.dump(2) << "\n";
  const std::string table_path = ctx.output_path("table.md");
  std::ofstream(table_path) << dc::table_markdown(report["table"]);
  ctx.register_output("report", report_path);
  ctx.register_output("table", table_path);
  ctx.register_output("predictions", predictions_path);
  ctx.progress(1.0, "done");
  ctx.log_info("ranking: " + report["table"]["ranking"].dump());
  return RF_RUN_OK;
}

}  // namespace

constexpr const char* kParamsSchema = R"json({"type":"object","properties":{
    "pool":{"type":"string","enum":["cls","cls+mean"],"default":"cls+mean",
            "description":"features: the CLS token, or CLS with the mean patch token appended"},
    "names":{"type":"array","items":{"type":"string","minLength":1},"minItems":1,"maxItems":8,
             "description":"labels of the bound feature sets, in input order (default: each set's meta encoder)"},
    "fields":{"type":"array","items":{"type":"string"},"minItems":1,
              "description":"record fields to probe (default: every field found)"},
    "max_classes":{"type":"integer","minimum":2,"maximum":1000,"default":20,
                   "description":"a categorical column with more classes is skipped"},
    "weight_decays":{"type":"array","items":{"type":"number","minimum":0},"minItems":1,
                     "default":[1e-5,1e-4,1e-3,1e-2,1e-1],
                     "description":"logistic L2 penalties tried; the best on val AUPRC is kept"},
    "alphas":{"type":"array","items":{"type":"number","exclusiveMinimum":0},"minItems":1,
              "default":[0.01,0.1,1,10,100,1000,10000],
              "description":"ridge penalties tried; the best on val MSE is kept"},
    "bootstrap":{"type":"integer","minimum":0,"maximum":100000,"default":1000,
                 "description":"bootstrap resamples for the 95% intervals"},
    "seed":{"type":"integer","minimum":0,"default":0}},
  "additionalProperties":false})json";

constexpr const char* kInputs = R"json([
  {"name":"features","description":"a feature set folder (features.safetensors, rows.jsonl): the first encoder"},
  {"name":"features_2","description":"a second encoder's feature set of the same rows","optional":true},
  {"name":"features_3","description":"a third encoder's feature set","optional":true},
  {"name":"features_4","description":"a fourth encoder's feature set","optional":true},
  {"name":"features_5","description":"a fifth encoder's feature set","optional":true},
  {"name":"features_6","description":"a sixth encoder's feature set","optional":true},
  {"name":"features_7","description":"a seventh encoder's feature set","optional":true},
  {"name":"features_8","description":"an eighth encoder's feature set","optional":true}])json";

constexpr const char* kOutputs = R"json([
  {"name":"report","description":"report.json: per encoder and field, metrics with 95% intervals, and the comparison table"},
  {"name":"table","description":"table.md: the encoders compared, one row per field and metric"},
  {"name":"predictions","description":"predictions.jsonl: encoder, field, path, truth, prediction (and scores) per test sample"}])json";

RADFLOW_PLUGIN("demographic-correlation", "0.1.0",
               "How well frozen encoder features predict sex, age and other record fields "
               "(AUROC, R², MAE, Pearson r with bootstrap 95% intervals), comparing encoders.",
               kParamsSchema, kInputs, kOutputs, run)
