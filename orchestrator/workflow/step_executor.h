// parse_step_executor(): a step's "executor" (which of the daemon's executors runs
// it) and its executor options (the object under that executor's name, e.g.
// "slurm": {...}), checked against Capacity::executors: an unknown executor, options
// for an executor the step does not run on, and ranks, GPUs or a timeout beyond the
// chosen executor's ExecutorLimits are errors with their JSON paths. Internal to
// radflow_workflow (parse_step calls it). Stateless; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/status.h"
#include "orchestrator/workflow/workflow.h"

namespace radflow {

// `raw` is the step object, `pointer` its JSON pointer (/steps/<name>). Reads
// spec->resources and spec->timeout_s, so it runs after they are parsed; sets
// spec->executor and spec->executor_options.
void parse_step_executor(const nlohmann::json& raw, const std::string& pointer,
                         const Capacity& capacity, StepSpec* spec, std::vector<Error>* errors);

// The limits of the executor `raw` (a step object) runs on: its "executor" or
// capacity.default_executor; null when the daemon has no such executor (or the
// field is not a string), which parse_step_executor reports.
const ExecutorLimits* chosen_executor_limits(const nlohmann::json& raw, const Capacity& capacity);

}  // namespace radflow
