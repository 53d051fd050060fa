#include "orchestrator/workflow/validate.h"

#include <algorithm>
#include <set>

#include "common/utf8.h"
#include "orchestrator/workflow/error_list.h"
#include "orchestrator/workflow/json_schema.h"
#include "orchestrator/workflow/step_graph.h"
#include "orchestrator/workflow/step_parser.h"

namespace radflow {
namespace {

using nlohmann::json;

// nlohmann reports the byte offset just past the offending character; users
// want a line and a column (1-based, columns in bytes).
Error malformed_json(std::string_view text, const json::parse_error& e) {
  // e.byte counts the bytes read, the offending one included.
  size_t pos = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  size_t column = pos - line_start + 1;
  std::string what = e.what();
  // Keep nlohmann's reason, drop its own "[json.exception...] ... column N: " prefix.
  size_t at = what.find("column ");
  at = at == std::string::npos ? std::string::npos : what.find(": ", at);
  std::string reason = at == std::string::npos ? what : what.substr(at + 2);
  return Error{"malformed_json",
               "malformed JSON at line " + std::to_string(line) + ", column " +
                   std::to_string(column) + ": " + reason,
               ""};
}

void check_top_level(const json& doc, std::vector<Error>* errors) {
  static const std::set<std::string> kKeys = {"name",  "description", "params",
                                              "steps", "tags",        "max_parallel"};
  for (const auto& [key, unused] : doc.items()) {
    if (kKeys.count(key)) continue;
    add_error(errors, "invalid_workflow", json_pointer_append("", key),
        "unknown top-level key \"" + key + "\" (known: description, max_parallel, name, params, steps, tags)");
  }
  auto name = doc.find("name");
  if (name == doc.end()) {
    add_error(errors, "invalid_workflow", "/name", "workflow needs \"name\", a non-empty string");
  } else if (!name->is_string() || name->get_ref<const std::string&>().empty()) {
    add_error(errors, "invalid_workflow", "/name",
        "name must be a non-empty string, got " + describe_json_value(*name));
  }
  if (auto it = doc.find("description"); it != doc.end() && !it->is_string()) {
    add_error(errors, "invalid_workflow", "/description",
        "description must be a string, got " + describe_json_value(*it));
  }
  if (auto it = doc.find("tags"); it != doc.end()) {
    if (!it->is_array()) {
      add_error(errors, "invalid_workflow", "/tags",
          "tags must be an array of strings, got " + describe_json_value(*it));
    } else {
      for (size_t i = 0; i < it->size(); ++i) {
        if ((*it)[i].is_string()) continue;
        add_error(errors, "invalid_workflow", "/tags/" + std::to_string(i),
            "tags." + std::to_string(i) + " must be a string, got " +
                describe_json_value((*it)[i]));
      }
    }
  }
  if (auto it = doc.find("max_parallel"); it != doc.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 100000) {
      add_error(errors, "invalid_workflow", "/max_parallel",
          "max_parallel must be an integer >= 1 (the most steps of this run running at once), "
          "got " + describe_json_value(*it));
    }
  }
  if (auto it = doc.find("params"); it != doc.end() && !it->is_object()) {
    add_error(errors, "invalid_workflow", "/params",
        "params must be an object, got " + describe_json_value(*it));
  }
}

// Resolves one step's "inputs" into bindings, reporting what does not fit its
// plugin or the step it reads from.
void bind_inputs(ParsedStep* step, const std::map<std::string, ParsedStep>& steps,
                 std::vector<Error>* errors) {
  const std::string base = json_pointer_append("/steps", step->spec.name) + "/inputs";
  const PluginInfo* plugin = step->plugin;
  for (const auto& [input, value] : step->inputs.items()) {
    const std::string path = json_pointer_append(base, input);
    if (plugin && !plugin->find_input(input)) {
      std::string known;
      for (const auto& p : plugin->inputs) known += (known.empty() ? "" : ", ") + p.name;
      add_error(errors, "unknown_input", path,
          "plugin \"" + plugin->name + "\" has no input \"" + input +
              "\" (inputs: " + (known.empty() ? "none" : known) + ")");
    }
    size_t dot =
        value.is_string() ? value.get_ref<const std::string&>().find('.') : std::string::npos;
    const std::string text = value.is_string() ? value.get<std::string>() : "";
    if (dot == std::string::npos || dot == 0 || dot + 1 == text.size()) {
      add_error(errors, "bad_reference", path,
          "input \"" + input + "\" must be a string \"step.output\", got " +
              describe_json_value(value));
      continue;
    }
    InputBinding binding{input, text.substr(0, dot), text.substr(dot + 1)};
    auto source = steps.find(binding.step);
    if (source == steps.end()) {
      add_error(errors, "unknown_step", path,
          "input \"" + input + "\" reads from step \"" + binding.step +
              "\", which the workflow does not define");
      continue;
    }
    const PluginInfo* source_plugin = source->second.plugin;
    if (source_plugin && !source_plugin->find_output(binding.output)) {
      std::string known;
      for (const auto& p : source_plugin->outputs) known += (known.empty() ? "" : ", ") + p.name;
      add_error(errors, "unknown_output", path,
          "step \"" + binding.step + "\" (plugin \"" + source_plugin->name +
              "\") has no output \"" + binding.output +
              "\" (outputs: " + (known.empty() ? "none" : known) + ")");
    }
    step->spec.inputs.push_back(std::move(binding));
  }
  if (plugin && step->inputs_ok) {
    for (const auto& port : plugin->inputs) {
      if (port.optional || step->inputs.contains(port.name)) continue;
      add_error(errors, "missing_input", base,
          "step \"" + step->spec.name + "\" must bind input \"" + port.name + "\" of plugin \"" +
              plugin->name + "\" (write \"" + port.name + "\": \"<step>.<output>\")");
    }
  }
}

ValidationResult parse_workflow_unbounded(std::string_view text,
                                          const std::map<std::string, PluginInfo>& plugins,
                                          const Capacity& capacity, const WorkflowLimits& limits,
                                          const DataRoots* data_roots) {
  ValidationResult result;
  std::vector<Error>* errors = &result.errors;
  // Deep nesting is refused before parsing: copies, dumps and schema checks of a
  // json value recurse once per level.
  if (size_t depth = json_nesting_depth(text, limits.max_depth); depth > limits.max_depth) {
    add_error(errors, "too_deep", "",
        "the workflow nests arrays and objects more than " + std::to_string(limits.max_depth) +
            " levels deep; flatten it");
    return result;
  }
  json doc;
  // nlohmann reports syntax errors by throwing; turn that into a value here.
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    errors->push_back(malformed_json(text, e));
    return result;
  }
  if (!doc.is_object()) {
    add_error(errors, "invalid_workflow", "",
        "a workflow must be a JSON object, got " + describe_json_value(doc));
    return result;
  }
  check_top_level(doc, errors);
  auto params_it = doc.find("params");
  const json* run_params = nullptr;
  static const json kNoParams = json::object();
  if (params_it == doc.end()) {
    run_params = &kNoParams;
  } else if (params_it->is_object()) {
    run_params = &*params_it;
  }

  auto steps_it = doc.find("steps");
  if (steps_it == doc.end() || !steps_it->is_object() || steps_it->empty()) {
    add_error(errors, "invalid_workflow", "/steps",
        steps_it == doc.end()
            ? std::string("workflow needs \"steps\", an object of steps keyed by name")
            : "steps must be a non-empty object of steps keyed by name, got " +
                  (steps_it->is_object() ? std::string("an empty object")
                                         : describe_json_value(*steps_it)));
    return result;
  }
  if (steps_it->size() > limits.max_steps) {
    add_error(errors, "too_many_steps", "/steps",
        "the workflow has " + std::to_string(steps_it->size()) + " steps; at most " +
            std::to_string(limits.max_steps) + " are accepted (split it into several runs)");
    return result;
  }
  // json objects iterate in key order, so everything below runs by step name.
  std::map<std::string, ParsedStep> steps;
  for (const auto& [name, raw] : steps_it->items()) {
    ParsedStep& step =
        steps.emplace(name, parse_step(name, raw, run_params, plugins, capacity, data_roots, errors))
            .first->second;
    const size_t params_bytes = step.spec.params.dump().size();
    if (params_bytes > limits.max_params_bytes) {
      add_error(errors, "params_too_large", json_pointer_append("/steps", name) + "/params",
          "the params of step \"" + truncate_utf8(name, 80, "...") + "\" take " +
              std::to_string(params_bytes) + " bytes as JSON; at most " +
              std::to_string(limits.max_params_bytes) +
              " are accepted (pass large data as an input artifact or a file path)");
    }
  }
  StepEdges downstream;
  for (auto& [name, step] : steps) downstream[name];
  for (auto& [name, step] : steps) {
    bind_inputs(&step, steps, errors);
    for (const auto& binding : step.spec.inputs) downstream[binding.step].insert(name);
  }
  for (const auto& cycle : find_step_cycles(downstream)) {
    std::string chain;
    for (const auto& name : cycle) chain += (chain.empty() ? "" : " -> ") + name;
    add_error(errors, "cycle", json_pointer_append("/steps", cycle.front()),
        "steps form a cycle: " + chain);
  }
  if (!errors->empty()) return result;

  Workflow workflow;
  workflow.name = doc["name"].get<std::string>();
  workflow.max_parallel = doc.value("max_parallel", 0);
  workflow.params = *run_params;
  for (const auto& name : topological_step_order(downstream)) {
    StepSpec spec = std::move(steps[name].spec);
    // Bindings were added in input-name order (json object order) already.
    workflow.steps.push_back(std::move(spec));
  }
  result.workflow = std::move(workflow);
  return result;
}

}  // namespace

size_t json_nesting_depth(std::string_view text, size_t stop_at) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > stop_at) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

ValidationResult parse_workflow(std::string_view text,
                                const std::map<std::string, PluginInfo>& plugins,
                                const Capacity& capacity, const WorkflowLimits& limits,
                                const DataRoots* data_roots) {
  ValidationResult result = parse_workflow_unbounded(text, plugins, capacity, limits, data_roots);
  std::vector<Error>& errors = result.errors;
  for (auto& error : errors) {
    error.message = truncate_utf8(error.message, limits.max_error_message_bytes, "...");
    error.path = truncate_utf8(error.path, limits.max_error_message_bytes, "...");
  }
  if (errors.size() > limits.max_errors) {
    const size_t hidden = errors.size() - limits.max_errors;
    errors.resize(limits.max_errors);
    add_error(&errors, "too_many_errors", "",
        std::to_string(hidden) + " more error(s) not shown; the first " +
            std::to_string(limits.max_errors) + " are above");
  }
  return result;
}

}  // namespace radflow
