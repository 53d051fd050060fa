// libFuzzer target: workflow JSON text -> parse_workflow(), against the test plugins
// and the shipped plugins' descriptors (fuzz_plugins.h) with a 2-GPU, 16-CPU capacity.
// Besides the sanitizers, it checks the function's contract (validate.h): a workflow
// exactly when there are no errors; every error has a code and a JSON-pointer path
// that is "" or starts with "/"; a valid workflow's steps are in topological order,
// name known plugins, bind only declared ports and ask for resources within the
// capacity; and the result is the same when the same text is validated twice.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "orchestrator/workflow/validate.h"
#include "tests/fuzz/fuzz_plugins.h"

namespace {

using radflow::fuzz::fail;

void check(const radflow::ValidationResult& result,
           const std::map<std::string, radflow::PluginInfo>& plugins,
           const radflow::Capacity& capacity) {
  if (result.ok() != result.workflow.has_value()) fail("workflow set iff no errors");
  for (const auto& error : result.errors) {
    if (error.code.empty()) fail("error without a code: " + error.message);
    if (!error.path.empty() && error.path[0] != '/') fail("path not a JSON pointer: " + error.path);
  }
  if (!result.ok()) return;
  std::map<std::string, const radflow::StepSpec*> seen;
  for (const auto& step : result.workflow->steps) {
    auto plugin = plugins.find(step.plugin);
    if (plugin == plugins.end()) fail("step " + step.name + " has unknown plugin " + step.plugin);
    for (const auto& input : step.inputs) {
      auto upstream = seen.find(input.step);
      if (upstream == seen.end()) fail("step " + step.name + " before its input " + input.step);
      if (!plugin->second.find_input(input.input)) fail("undeclared input " + input.input);
      if (!plugins.at(upstream->second->plugin).find_output(input.output)) {
        fail("undeclared output " + input.output);
      }
    }
    if (!seen.emplace(step.name, &step).second) fail("step twice: " + step.name);
    const radflow::Resources& r = step.resources;
    if (r.gpus < 0 || r.gpus > capacity.gpus || r.ranks < 1 || r.ranks > capacity.max_ranks ||
        !(r.cpus >= radflow::kMinCpusPerRank) || r.cpus > capacity.cpus || !(r.memory_gb >= 0) ||
        (capacity.memory_gb > 0 && r.memory_gb > capacity.memory_gb)) {
      fail("step " + step.name + " accepted with resources beyond the capacity");
    }
    if (step.retries < 0 || step.retries > 100 || !(step.timeout_s >= 0) ||
        step.timeout_s > radflow::kMaxTimeoutS) {
      fail("step " + step.name + " accepted with retries or timeout out of range");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto plugins = radflow::fuzz::fuzz_plugins();
  static const auto capacity = radflow::testing::test_capacity();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  radflow::ValidationResult first = radflow::parse_workflow(text, plugins, capacity);
  check(first, plugins, capacity);
  radflow::ValidationResult second = radflow::parse_workflow(text, plugins, capacity);
  if (first.errors.size() != second.errors.size()) fail("two runs, different error counts");
  for (size_t i = 0; i < first.errors.size(); ++i) {
    if (first.errors[i].code != second.errors[i].code ||
        first.errors[i].path != second.errors[i].path) {
      fail("two runs, different errors");
    }
  }
  return 0;
}
