#include "orchestrator/report/ablation_curves.h"

#include <algorithm>
#include <string>
#include <vector>

namespace radflow::report {
namespace {

using nlohmann::json;

struct Axis {
  const char* workflow;  // the workflow name's prefix
  const char* label;
  const char* step;  // "features" or "pretrain" (EvaluationRecord::encoder_params)
  const char* param;
  bool numeric;
};

const std::vector<Axis>& axes() {
  static const std::vector<Axis> list = {
      {"ablation-resolution", "image size (px)", "features", "image_size", true},
      {"ablation-data-scale", "fraction of the pretraining data", "pretrain", "train_fraction", true},
      {"ablation-init", "initialisation", "pretrain", "init_checkpoint", false},
  };
  return list;
}

const Axis* axis_of(const std::string& workflow) {
  for (const auto& a : axes()) {
    if (workflow.rfind(a.workflow, 0) == 0) return &a;
  }
  return nullptr;
}

// Where an encoder lies on the axis; null when its steps do not say.
json x_of(const Axis& axis, const EvaluationRecord& r) {
  const json params = r.encoder_params.value(axis.step, json());
  if (!axis.numeric) {
    if (!params.is_object()) return nullptr;
    return params.contains(axis.param) ? "continued from a checkpoint" : "random init";
  }
  return params.is_object() && params.contains(axis.param) && params[axis.param].is_number() ? params[axis.param]
                                                                                             : json();
}

}  // namespace

json ablation_curves(const ReportInputs& inputs, const json& sections) {
  json out = json::array();
  for (const auto& run : inputs.runs) {
    const Axis* axis = axis_of(run.workflow);
    if (!axis) continue;
    json curves = json::array();
    for (const auto& section : sections) {
      if (section["kind"] != "probe" && section["kind"] != "segment") continue;
      for (const auto& col : section["columns"]) {
        json points = json::array();
        for (const auto& row : section["encoders"]) {
          const EvaluationRecord& r = inputs.evaluations.at(row["source"].get<size_t>());
          const json x = x_of(*axis, r);
          if (r.provenance.run_id != run.id || x.is_null()) continue;
          const json& f = row["figures"].value(col["metric"].get<std::string>(), json::object());
          points.push_back({{"x", x}, {"encoder", r.encoder}, {"value", f.value("value", json())},
                            {"low", f.value("low", json())}, {"high", f.value("high", json())},
                            {"source", row["source"]}});
        }
        if (points.empty()) continue;
        if (axis->numeric) {
          std::sort(points.begin(), points.end(),
                    [](const json& a, const json& b) { return a["x"].get<double>() < b["x"].get<double>(); });
        }
        curves.push_back({{"section", section["kind"]}, {"metric", col["metric"]},
                          {"label", section["kind"].get<std::string>() + " " + col["label"].get<std::string>()},
                          {"points", points}});
      }
    }
    out.push_back({{"run_id", run.id}, {"workflow", run.workflow}, {"axis", axis->label},
                   {"numeric", axis->numeric}, {"curves", curves}});
  }
  return out;
}

}  // namespace radflow::report
