// parse_workflow(): turns workflow JSON text into a validated Workflow (a DAG of
// steps in topological order), or into the full list of problems with it.
//
// Every problem is reported at once, each as an Error {code, message, path} whose
// path is a JSON pointer (RFC 6901) into the submitted document. The codes are a
// stable API, listed with their paths in docs/workflows.md: malformed_json,
// invalid_workflow, unknown_plugin, unknown_input, missing_input, bad_reference,
// unknown_step, unknown_output, cycle, unknown_run_param, resources_exceeded,
// and the param_* codes of json_schema.h.
//
// Pure function of its arguments; safe to call from any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "orchestrator/workflow/plugin_info.h"
#include "orchestrator/workflow/workflow.h"

namespace radflow {

struct ValidationResult {
  std::optional<Workflow> workflow;  // set exactly when errors is empty
  std::vector<Error> errors;         // in a deterministic order

  bool ok() const { return errors.empty(); }
};

// `plugins` is keyed by plugin name. `capacity` is the most one step may ask for.
ValidationResult parse_workflow(std::string_view text,
                                const std::map<std::string, PluginInfo>& plugins,
                                const Capacity& capacity);

}  // namespace radflow
