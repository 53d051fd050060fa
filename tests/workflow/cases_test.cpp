// Runs every cases/*.json file: {"workflow": <text or object>, "expect":
// [{"code", "path", "message_contains"?}], "capacity"?: {...}, "order"?: [...]}.
// "capacity" may hold gpus, cpus, memory_gb, "executors" ({name: {max_ranks?,
// max_gpus?, max_timeout_s?, resources?: "daemon" or "executor"}}) and
// "default_executor".
// The errors must match `expect` exactly (as a multiset of code+path); an empty
// `expect` means the workflow is valid, and then `order` (if given) is the
// expected step order.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "orchestrator/workflow/validate.h"
#include "tests/workflow/test_plugins.h"

namespace radflow {
namespace {

using nlohmann::json;

std::vector<std::string> case_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(RADFLOW_WORKFLOW_CASES_DIR)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string case_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = std::filesystem::path(info.param).stem().string();
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class WorkflowCase : public ::testing::TestWithParam<std::string> {};

TEST_P(WorkflowCase, ReportsExactlyTheExpectedErrors) {
  std::ifstream in(GetParam());
  ASSERT_TRUE(in) << GetParam();
  std::stringstream buffer;
  buffer << in.rdbuf();
  json spec = json::parse(buffer.str());
  ASSERT_TRUE(spec.contains("workflow") && spec.contains("expect")) << GetParam();
  const json& workflow = spec["workflow"];
  std::string text = workflow.is_string() ? workflow.get<std::string>() : workflow.dump(2);
  Capacity capacity = testing::test_capacity();
  if (spec.contains("capacity")) {
    capacity.gpus = spec["capacity"].value("gpus", capacity.gpus);
    capacity.cpus = spec["capacity"].value("cpus", capacity.cpus);
    capacity.memory_gb = spec["capacity"].value("memory_gb", capacity.memory_gb);
    // "executors": {"slurm": {"max_ranks": 2, ...}}: the daemon's executors and limits.
    if (spec["capacity"].contains("executors")) {
      capacity.executors.clear();
      for (const auto& [name, limits] : spec["capacity"]["executors"].items()) {
        ExecutorLimits& l = capacity.executors[name];
        if (limits.contains("max_ranks")) l.max_ranks = limits["max_ranks"].get<int>();
        if (limits.contains("max_gpus")) l.max_gpus = limits["max_gpus"].get<int>();
        if (limits.contains("max_timeout_s")) l.max_timeout_s = limits["max_timeout_s"].get<double>();
        // "resources": "executor": its steps are not bounded by the daemon's GPUs/CPUs.
        if (limits.value("resources", "daemon") == "executor") l.resources = ResourceOwner::kExecutor;
      }
    }
    capacity.default_executor = spec["capacity"].value("default_executor", capacity.default_executor);
  }
  ValidationResult result = parse_workflow(text, testing::test_plugins(), capacity);

  std::vector<std::pair<std::string, std::string>> got, want;
  std::string all;
  for (const auto& e : result.errors) {
    got.emplace_back(e.code, e.path);
    all += "\n  " + e.code + " at \"" + e.path + "\": " + e.message;
  }
  for (const auto& e : spec["expect"]) want.emplace_back(e["code"], e["path"]);
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want) << "errors reported:" << all;
  EXPECT_EQ(result.ok(), want.empty());
  EXPECT_EQ(result.workflow.has_value(), want.empty());

  for (const auto& e : spec["expect"]) {
    if (!e.contains("message_contains")) continue;
    std::string needle = e["message_contains"];
    bool found = std::any_of(result.errors.begin(), result.errors.end(), [&](const Error& r) {
      return r.code == e["code"] && r.path == e["path"] &&
             r.message.find(needle) != std::string::npos;
    });
    EXPECT_TRUE(found) << "no " << e["code"] << " at " << e["path"] << " says \"" << needle
                       << "\"; errors:" << all;
  }
  if (spec.contains("order") && result.workflow) {
    std::vector<std::string> order;
    for (const auto& step : result.workflow->steps) order.push_back(step.name);
    EXPECT_EQ(order, spec["order"].get<std::vector<std::string>>());
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, WorkflowCase, ::testing::ValuesIn(case_files()), case_name);

}  // namespace
}  // namespace radflow
