// parse_step(): checks the fields of one workflow step that need nothing but the
// step itself and its plugin (shape, plugin, params, resources, retries, ...).
// Inputs are only carried through: binding them needs every step's plugin, which
// validate.cpp does once all steps are parsed. Internal to radflow_workflow.
// Stateless; safe from any thread.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "orchestrator/workflow/data_roots.h"
#include "orchestrator/workflow/plugin_info.h"
#include "orchestrator/workflow/workflow.h"

namespace radflow {

struct ParsedStep {
  StepSpec spec;                                     // inputs left empty
  const PluginInfo* plugin = nullptr;                // null if missing or unknown
  nlohmann::json inputs = nlohmann::json::object();  // raw "inputs" when an object
  bool inputs_ok = true;  // false when "inputs" was not an object (already reported)
};

// `run_params` is the top-level "params" object, or null when it was invalid
// (then "${params.x}" is left alone and not reported). Params the plugin declares
// "format": "path" are held to `data_roots` unless it is null. Problems go to `errors`.
ParsedStep parse_step(const std::string& name, const nlohmann::json& raw,
                      const nlohmann::json* run_params,
                      const std::map<std::string, PluginInfo>& plugins, const Capacity& capacity,
                      const DataRoots* data_roots, std::vector<Error>* errors);

}  // namespace radflow
