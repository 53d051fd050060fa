#include "orchestrator/workflow/step_executor.h"

#include <sstream>

#include "orchestrator/workflow/error_list.h"
#include "orchestrator/workflow/json_schema.h"

namespace radflow {
namespace {

using nlohmann::json;

std::string executor_names(const Capacity& capacity) {
  std::string names;
  for (const auto& [name, unused] : capacity.executors) names += (names.empty() ? "" : ", ") + name;
  return names.empty() ? "none" : names;
}

// Ranks, GPUs and timeout_s against what `executor` accepts.
void check_limits(const std::string& executor, const ExecutorLimits& limits,
                  const std::string& pointer, const StepSpec& spec, std::vector<Error>* errors) {
  const std::string on = " but executor \"" + executor + "\" accepts at most ";
  if (limits.max_ranks && spec.resources.ranks > *limits.max_ranks) {
    add_error(errors, "resources_exceeded", pointer + "/resources/ranks",
        "step asks for " + std::to_string(spec.resources.ranks) + " ranks" + on +
            std::to_string(*limits.max_ranks));
  }
  if (limits.max_gpus && spec.resources.gpus > *limits.max_gpus) {
    add_error(errors, "resources_exceeded", pointer + "/resources/gpus",
        "step asks for " + std::to_string(spec.resources.gpus) + " GPUs" + on +
            std::to_string(*limits.max_gpus));
  }
  // A timeout of 0 means none, which an executor with a time limit cannot honour.
  if (limits.max_timeout_s &&
      (spec.timeout_s > *limits.max_timeout_s || spec.timeout_s == 0)) {
    add_error(errors, "resources_exceeded", pointer + "/timeout_s",
        std::string(spec.timeout_s == 0 ? "step has no timeout_s (no limit)"
                                        : "step asks for timeout_s " +
                                              format_number(spec.timeout_s)) +
            on + format_number(*limits.max_timeout_s) + " s; set \"timeout_s\" within it");
  }
}

}  // namespace

const ExecutorLimits* chosen_executor_limits(const json& raw, const Capacity& capacity) {
  std::string chosen = capacity.default_executor;
  if (auto it = raw.find("executor"); it != raw.end()) {
    if (!it->is_string()) return nullptr;
    chosen = it->get<std::string>();
  }
  auto limits = capacity.executors.find(chosen);
  return limits == capacity.executors.end() ? nullptr : &limits->second;
}

void parse_step_executor(const json& raw, const std::string& pointer, const Capacity& capacity,
                         StepSpec* spec, std::vector<Error>* errors) {
  std::string chosen = capacity.default_executor;
  bool known = true;
  if (auto it = raw.find("executor"); it != raw.end()) {
    const std::string path = pointer + "/executor";
    if (!it->is_string()) {
      add_error(errors, "invalid_workflow", path,
          json_pointer_display(path) + " must be an executor name string, got " +
              describe_json_value(*it));
      known = false;
    } else if (capacity.executors.count(it->get<std::string>()) == 0) {
      add_error(errors, "unknown_executor", path,
          "unknown executor \"" + it->get<std::string>() + "\" (this daemon has: " +
              executor_names(capacity) + ")");
      known = false;
    } else {
      chosen = it->get<std::string>();
      spec->executor = chosen;
    }
  }
  // Options live under the executor's own name, so a key naming another of the
  // daemon's executors is a step that meant to run there (or forgot to say so).
  for (const auto& [name, unused] : capacity.executors) {
    auto options = raw.find(name);
    if (options == raw.end()) continue;
    const std::string path = json_pointer_append(pointer, name);
    if (!options->is_object()) {
      add_error(errors, "invalid_workflow", path,
          json_pointer_display(path) + " must be an object of options for executor \"" +
              name + "\", got " + describe_json_value(*options));
    } else if (known && name != chosen) {
      add_error(errors, "unused_executor_options", path,
          "options for executor \"" + name + "\", but the step runs on \"" + chosen +
              "\" (add \"executor\": \"" + name + "\" or remove them)");
    } else if (known) {
      spec->executor_options = *options;
    }
  }
  if (!known) return;
  auto limits = capacity.executors.find(chosen);
  if (limits != capacity.executors.end()) check_limits(chosen, limits->second, pointer, *spec, errors);
}

}  // namespace radflow
