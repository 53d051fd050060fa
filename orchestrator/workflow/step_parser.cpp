#include "orchestrator/workflow/step_parser.h"

#include <cctype>
#include <climits>
#include <cmath>
#include <set>
#include <sstream>

#include "common/utf8.h"
#include "orchestrator/workflow/error_list.h"
#include "orchestrator/workflow/json_schema.h"
#include "orchestrator/workflow/step_executor.h"

namespace radflow {
namespace {

using nlohmann::json;

// 1 to 64 characters from A-Z a-z 0-9 _ - (a loop, not std::regex: names come
// from clients and std::regex recurses once per character).
bool is_step_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

const std::set<std::string>& step_keys() {
  static const std::set<std::string> keys = {"plugin",    "params",   "inputs",
                                             "resources", "retries",  "timeout_s",
                                             "cache",     "priority", "description",
                                             "executor"};
  return keys;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Integers may be written 2 or 2.0 (as JSON Schema's "integer" allows);
// out-of-range values are clamped into int64 so that the range checks report them.
bool read_integer(const json& value, int64_t* out) {
  if (value.is_number_unsigned()) {
    uint64_t u = value.get<uint64_t>();
    *out = u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(u);
    return true;
  }
  if (value.is_number_integer()) {
    *out = value.get<int64_t>();
    return true;
  }
  if (!value.is_number_float()) return false;
  double d = value.get<double>();
  if (!std::isfinite(d) || std::floor(d) != d) return false;
  *out = d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : static_cast<int64_t>(d);
  return true;
}

int clamp_int(int64_t v) {
  return static_cast<int>(std::max<int64_t>(INT_MIN, std::min<int64_t>(INT_MAX, v)));
}

// Replaces every string that is exactly "${params.NAME}" by the run param NAME,
// keeping its JSON type, anywhere inside the step's params.
void substitute_run_params(json* value, const json& run_params, const std::string& pointer,
                           std::vector<Error>* errors) {
  static const std::string kPrefix = "${params.";
  if (value->is_string()) {
    const auto& text = value->get_ref<const std::string&>();
    if (text.size() <= kPrefix.size() + 1 || text.compare(0, kPrefix.size(), kPrefix) != 0 ||
        text.back() != '}') {
      return;
    }
    std::string name = text.substr(kPrefix.size(), text.size() - kPrefix.size() - 1);
    auto it = run_params.find(name);
    if (it == run_params.end()) {
      std::vector<std::string> known;
      for (const auto& [key, unused] : run_params.items()) known.push_back(key);
      add_error(errors, "unknown_run_param", pointer,
          json_pointer_display(pointer) + " refers to run param \"" + name +
              "\", which the workflow's top-level \"params\" does not define (defined: " +
              (known.empty() ? "none" : join(known)) + ")");
      return;
    }
    *value = *it;
  } else if (value->is_object()) {
    for (auto& [key, child] : value->items()) {
      substitute_run_params(&child, run_params, json_pointer_append(pointer, key), errors);
    }
  } else if (value->is_array()) {
    for (size_t i = 0; i < value->size(); ++i) {
      substitute_run_params(&(*value)[i], run_params,
                            json_pointer_append(pointer, std::to_string(i)), errors);
    }
  }
}

void parse_params(const json& raw, const std::string& pointer, const json* run_params,
                  const DataRoots* data_roots, ParsedStep* step, std::vector<Error>* errors) {
  auto it = raw.find("params");
  json params = json::object();
  if (it != raw.end()) {
    if (!it->is_object()) {
      add_error(errors, "invalid_workflow", pointer + "/params",
          json_pointer_display(pointer + "/params") + " must be an object, got " +
              describe_json_value(*it));
      return;
    }
    params = *it;
  }
  if (run_params) substitute_run_params(&params, *run_params, pointer + "/params", errors);
  if (step->plugin) {
    validate_against_schema(params, step->plugin->params_schema, pointer + "/params", errors);
    fill_defaults(&params, step->plugin->params_schema);
    if (data_roots != nullptr) {
      check_path_params(params, it == raw.end() ? nullptr : &*it, step->plugin->params_schema,
                        pointer + "/params", *data_roots, errors);
    }
  }
  step->spec.params = std::move(params);
}

void parse_resources(const json& raw, const std::string& pointer, const Capacity& capacity,
                     Resources* out, std::vector<Error>* errors) {
  auto it = raw.find("resources");
  if (it == raw.end()) return;
  const std::string base = pointer + "/resources";
  // A step on an executor with resources of its own (Slurm) is bounded by that
  // executor's limits (parse_step_executor), not by this machine's.
  const ExecutorLimits* executor = chosen_executor_limits(raw, capacity);
  const bool daemon_bounds = executor == nullptr || executor->resources == ResourceOwner::kDaemon;
  if (!it->is_object()) {
    add_error(errors, "invalid_workflow", base,
        json_pointer_display(base) + " must be an object, got " + describe_json_value(*it));
    return;
  }
  for (const auto& [key, value] : it->items()) {
    const std::string path = json_pointer_append(base, key);
    const std::string where = json_pointer_display(path);
    int64_t n = 0;
    if (key == "gpus" || key == "ranks") {
      int64_t minimum = key == "gpus" ? 0 : 1;
      if (!read_integer(value, &n) || n < minimum) {
        add_error(errors, "invalid_workflow", path,
            where + " must be an integer >= " + std::to_string(minimum) + ", got " +
                describe_json_value(value));
        continue;
      }
      if (key == "gpus") {
        out->gpus = clamp_int(n);
        if (daemon_bounds && n > capacity.gpus) {
          add_error(errors, "resources_exceeded", path,
              "step asks for " + std::to_string(n) + " GPUs but the daemon has " +
                  std::to_string(capacity.gpus));
        }
      } else {
        out->ranks = clamp_int(n);
        if (n > capacity.max_ranks) {
          add_error(errors, "resources_exceeded", path,
              "step asks for " + std::to_string(n) + " ranks but the daemon starts at most " +
                  std::to_string(capacity.max_ranks) + " per attempt (radflowd --max-ranks)");
        }
      }
    } else if (key == "cpus" || key == "memory_gb") {
      bool cpus = key == "cpus";
      double d = value.is_number() ? value.get<double>() : -1;
      if (!value.is_number() || !std::isfinite(d) || (cpus ? d < kMinCpusPerRank : d < 0)) {
        add_error(errors, "invalid_workflow", path,
            where + " must be a number " + (cpus ? ">= " + format_number(kMinCpusPerRank) : ">= 0") +
                ", got " + describe_json_value(value));
        continue;
      }
      if (cpus) {
        out->cpus = d;
        if (daemon_bounds && d > capacity.cpus) {
          add_error(errors, "resources_exceeded", path,
              "step asks for " + format_number(d) + " CPUs but the daemon has " +
                  format_number(capacity.cpus));
        }
      } else {
        out->memory_gb = d;
        if (daemon_bounds && capacity.memory_gb > 0 && d > capacity.memory_gb) {
          add_error(errors, "resources_exceeded", path,
              "step asks for " + format_number(d) + " GB of memory but the daemon has " +
                  format_number(capacity.memory_gb) + " GB");
        }
      }
    } else {
      add_error(errors, "invalid_workflow", path,
          "unknown resource \"" + key + "\" (known: cpus, gpus, memory_gb, ranks)");
    }
  }
}

void parse_scalars(const json& raw, const std::string& pointer, StepSpec* spec,
                   std::vector<Error>* errors) {
  auto bad = [&](const char* key, const std::string& expected, const json& value) {
    std::string path = pointer + "/" + key;
    add_error(errors, "invalid_workflow", path,
        json_pointer_display(path) + " must be " + expected + ", got " +
            describe_json_value(value));
  };
  int64_t n = 0;
  if (auto it = raw.find("retries"); it != raw.end()) {
    if (!read_integer(*it, &n) || n < 0 || n > 100) {
      bad("retries", "an integer from 0 to 100", *it);
    } else {
      spec->retries = static_cast<int>(n);
    }
  }
  if (auto it = raw.find("timeout_s"); it != raw.end()) {
    if (!it->is_number() || !(it->get<double>() >= 0) || it->get<double>() > kMaxTimeoutS) {
      bad("timeout_s",
          "a number of seconds from 0 (no limit) to " +
              std::to_string(static_cast<int64_t>(kMaxTimeoutS)) + " (30 days)",
          *it);
    } else {
      spec->timeout_s = it->get<double>();
    }
  }
  if (auto it = raw.find("cache"); it != raw.end()) {
    if (!it->is_boolean()) {
      bad("cache", "a boolean", *it);
    } else {
      spec->cache = it->get<bool>();
    }
  }
  if (auto it = raw.find("priority"); it != raw.end()) {
    if (!read_integer(*it, &n) || n < INT_MIN || n > INT_MAX) {
      bad("priority", "an integer", *it);
    } else {
      spec->priority = static_cast<int>(n);
    }
  }
  if (auto it = raw.find("description"); it != raw.end() && !it->is_string()) {
    bad("description", "a string", *it);
  }
}

}  // namespace

ParsedStep parse_step(const std::string& name, const json& raw, const json* run_params,
                      const std::map<std::string, PluginInfo>& plugins, const Capacity& capacity,
                      const DataRoots* data_roots, std::vector<Error>* errors) {
  ParsedStep step;
  step.spec.name = name;
  const std::string pointer = json_pointer_append("/steps", name);
  if (!is_step_name(name)) {
    add_error(errors, "invalid_workflow", pointer,
        "step name \"" + truncate_utf8(name, 80, "...") +
            "\" must be 1 to 64 characters from A-Z a-z 0-9 _ -");
  }
  if (!raw.is_object()) {
    add_error(errors, "invalid_workflow", pointer,
        "step \"" + name + "\" must be an object, got " + describe_json_value(raw));
    return step;
  }
  for (const auto& [key, unused] : raw.items()) {
    // A key named after one of the daemon's executors holds its options.
    if (step_keys().count(key) || capacity.executors.count(key)) continue;
    add_error(errors, "invalid_workflow", json_pointer_append(pointer, key),
        "unknown key \"" + key + "\" in step \"" + name +
            "\" (known: cache, description, executor, inputs, params, plugin, priority, "
            "resources, retries, timeout_s, and an executor's name for its options)");
  }
  auto plugin = raw.find("plugin");
  if (plugin == raw.end() || !plugin->is_string()) {
    add_error(errors, "invalid_workflow", pointer + "/plugin",
        "step \"" + name + "\" needs \"plugin\", a plugin name string" +
            (plugin == raw.end() ? "" : ", got " + describe_json_value(*plugin)));
  } else {
    step.spec.plugin = plugin->get<std::string>();
    auto found = plugins.find(step.spec.plugin);
    if (found == plugins.end()) {
      std::vector<std::string> known;
      for (const auto& [key, unused] : plugins) known.push_back(key);
      add_error(errors, "unknown_plugin", pointer + "/plugin",
          "unknown plugin \"" + step.spec.plugin +
              "\" (known: " + (known.empty() ? "none" : join(known)) + ")");
    } else {
      step.plugin = &found->second;
      step.spec.plugin_version = found->second.version;
      step.spec.plugin_sha256 = found->second.sha256;
    }
  }
  parse_params(raw, pointer, run_params, data_roots, &step, errors);
  if (auto inputs = raw.find("inputs"); inputs != raw.end()) {
    if (inputs->is_object()) {
      step.inputs = *inputs;
    } else {
      step.inputs_ok = false;
      add_error(errors, "invalid_workflow", pointer + "/inputs",
          json_pointer_display(pointer + "/inputs") + " must be an object, got " +
              describe_json_value(*inputs));
    }
  }
  parse_resources(raw, pointer, capacity, &step.spec.resources, errors);
  parse_scalars(raw, pointer, &step.spec, errors);
  parse_step_executor(raw, pointer, capacity, &step.spec, errors);
  return step;
}

}  // namespace radflow
