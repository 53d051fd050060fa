// parse_workflow(): turns workflow JSON text into a validated Workflow (a DAG of
// steps in topological order), or into the full list of problems with it.
//
// Every problem is reported at once, each as an Error {code, message, path} whose
// path is a JSON pointer (RFC 6901) into the submitted document. The codes are a
// stable API, listed with their paths in docs/workflows.md: malformed_json,
// invalid_workflow, unknown_plugin, unknown_input, missing_input, bad_reference,
// unknown_step, unknown_output, cycle, unknown_run_param, resources_exceeded,
// unknown_executor, unused_executor_options,
// the limit codes too_deep, too_many_steps, params_too_large, too_many_errors,
// the param_* codes of json_schema.h, and path_relative / path_outside_data_roots
// for path params (data_roots.h).
//
// Pure function of its arguments, except that path params are resolved on the
// filesystem when `data_roots` is given; safe to call from any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "orchestrator/workflow/data_roots.h"
#include "orchestrator/workflow/plugin_info.h"
#include "orchestrator/workflow/workflow.h"

namespace radflow {

struct ValidationResult {
  std::optional<Workflow> workflow;  // set exactly when errors is empty
  std::vector<Error> errors;         // in a deterministic order

  bool ok() const { return errors.empty(); }
};

// Bounds on what one workflow may be, so that a hostile or mistaken document
// costs time linear in its size and can never exhaust the stack or memory.
// Each breach is an error naming the limit and the value found.
struct WorkflowLimits {
  size_t max_depth = 64;                 // nesting of arrays and objects (too_deep)
  size_t max_steps = 10000;              // too_many_steps
  size_t max_params_bytes = 256 * 1024;  // one step's params as compact JSON (params_too_large)
  size_t max_errors = 100;               // more are summed up in one too_many_errors
  size_t max_error_message_bytes = 1024;  // longer messages are cut with a marker
};

// `plugins` is keyed by plugin name. `capacity` is the most one step may ask for.
// `data_roots`: where params declared "format": "path" may point (data_roots.h);
// null leaves them unchecked (tools that only look at a workflow's shape).
ValidationResult parse_workflow(std::string_view text,
                                const std::map<std::string, PluginInfo>& plugins,
                                const Capacity& capacity, const WorkflowLimits& limits = {},
                                const DataRoots* data_roots = nullptr);

// The deepest nesting of arrays and objects in JSON `text` (0 for a scalar),
// found by one pass over the bytes, without parsing. Stops counting early once
// `stop_at` is exceeded. Text inside strings is skipped.
size_t json_nesting_depth(std::string_view text, size_t stop_at);

}  // namespace radflow
