#include "orchestrator/workflow/validate.h"

#include <gtest/gtest.h>

#include "tests/workflow/test_plugins.h"

namespace radflow {
namespace {

using nlohmann::json;

ValidationResult parse(const std::string& text) {
  return parse_workflow(text, testing::test_plugins(), testing::test_capacity());
}

std::string dump_errors(const ValidationResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.code + " " + e.path + ": " + e.message + "\n";
  return out;
}

const char* kPipeline = R"({
  "name": "demo",
  "params": {"epochs": 3, "arch": "vit-s", "aug": {"flip": false}},
  "steps": {
    "probe": {"plugin": "eval",
              "inputs": {"encoder": "pretrain.checkpoint", "dataset": "gen.dataset"}},
    "pretrain": {"plugin": "train",
                 "params": {"arch": "${params.arch}", "epochs": "${params.epochs}",
                            "augment": "${params.aug}"},
                 "inputs": {"init": "base.checkpoint", "dataset": "gen.dataset"},
                 "resources": {"gpus": 2, "cpus": 8, "memory_gb": 32.5, "ranks": 2},
                 "retries": 3, "timeout_s": 600, "cache": false, "priority": 7},
    "base": {"plugin": "train", "params": {"arch": "vit-b"},
             "inputs": {"dataset": "gen.dataset"}},
    "gen": {"plugin": "data"}
  }
})";

TEST(ParseWorkflow, BuildsStepsInTopologicalOrderWithAllFields) {
  ValidationResult r = parse(kPipeline);
  ASSERT_TRUE(r.ok()) << dump_errors(r);
  ASSERT_TRUE(r.workflow.has_value());
  const Workflow& wf = *r.workflow;
  EXPECT_EQ(wf.name, "demo");
  EXPECT_EQ(wf.params["epochs"], 3);
  std::vector<std::string> order;
  for (const auto& s : wf.steps) order.push_back(s.name);
  EXPECT_EQ(order, (std::vector<std::string>{"gen", "base", "pretrain", "probe"}));

  const StepSpec* pretrain = wf.find_step("pretrain");
  ASSERT_NE(pretrain, nullptr);
  EXPECT_EQ(pretrain->plugin, "train");
  EXPECT_EQ(pretrain->plugin_version, "2.1.0");
  EXPECT_EQ(pretrain->resources.gpus, 2);
  EXPECT_EQ(pretrain->resources.cpus, 8);
  EXPECT_EQ(pretrain->resources.memory_gb, 32.5);
  EXPECT_EQ(pretrain->resources.ranks, 2);
  EXPECT_EQ(pretrain->retries, 3);
  EXPECT_EQ(pretrain->timeout_s, 600);
  EXPECT_FALSE(pretrain->cache);
  EXPECT_EQ(pretrain->priority, 7);
  ASSERT_EQ(pretrain->inputs.size(), 2u);  // sorted by input name
  EXPECT_EQ(pretrain->inputs[0].input, "dataset");
  EXPECT_EQ(pretrain->inputs[0].step, "gen");
  EXPECT_EQ(pretrain->inputs[0].output, "dataset");
  EXPECT_EQ(pretrain->inputs[1].input, "init");
  EXPECT_EQ(pretrain->inputs[1].step, "base");
  EXPECT_EQ(pretrain->upstream(), (std::vector<std::string>{"base", "gen"}));
}

TEST(ParseWorkflow, RunParamsKeepTheirTypeAndDefaultsAreFilled) {
  ValidationResult r = parse(kPipeline);
  ASSERT_TRUE(r.ok()) << dump_errors(r);
  const StepSpec* pretrain = r.workflow->find_step("pretrain");
  EXPECT_EQ(pretrain->params, json::parse(R"({"arch": "vit-s", "epochs": 3, "lr": 0.001,
                                              "augment": {"flip": false}})"));
  EXPECT_TRUE(pretrain->params["epochs"].is_number_integer());
  // A default object gets its own defaults filled in.
  EXPECT_EQ(r.workflow->find_step("base")->params["augment"], json::parse(R"({"flip": true})"));
  EXPECT_EQ(r.workflow->find_step("gen")->params,
            json::parse(R"({"count": 100, "seed": 0, "kind": "cxr"})"));
}

TEST(ParseWorkflow, StepDefaults) {
  ValidationResult r = parse(R"({"name": "x", "steps": {"gen": {"plugin": "data"}}})");
  ASSERT_TRUE(r.ok()) << dump_errors(r);
  const StepSpec& s = r.workflow->steps.at(0);
  EXPECT_EQ(s.resources.gpus, 0);
  EXPECT_EQ(s.resources.cpus, 1);
  EXPECT_EQ(s.resources.memory_gb, 0);
  EXPECT_EQ(s.resources.ranks, 1);
  EXPECT_EQ(s.retries, 0);
  EXPECT_EQ(s.timeout_s, 0);
  EXPECT_TRUE(s.cache);
  EXPECT_EQ(s.priority, 0);
  EXPECT_TRUE(s.inputs.empty());
}

TEST(ParseWorkflow, MalformedJsonGivesLineAndColumn) {
  ValidationResult r = parse("{\n  \"name\": \"x\",\n  \"steps\": {,}\n}");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].code, "malformed_json");
  EXPECT_EQ(r.errors[0].path, "");
  EXPECT_EQ(r.errors[0].message.rfind("malformed JSON at line 3, column 13: ", 0), 0u)
      << r.errors[0].message;
  EXPECT_FALSE(r.workflow.has_value());
}

TEST(ParseWorkflow, ReportsEveryProblemAtOnce) {
  ValidationResult r = parse(R"({
    "name": "x",
    "steps": {
      "a": {"plugin": "nope"},
      "b": {"plugin": "train", "params": {"lr": "fast"}, "inputs": {"dataset": "ghost.x"},
            "resources": {"gpus": 5}},
      "c": {"plugin": "eval", "retries": -1}
    }
  })");
  EXPECT_FALSE(r.workflow.has_value());
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& e : r.errors) got.emplace_back(e.code, e.path);
  // Step by step (by name), each step's own fields before its inputs.
  std::vector<std::pair<std::string, std::string>> want = {
      {"unknown_plugin", "/steps/a/plugin"},    {"param_required", "/steps/b/params/arch"},
      {"param_type", "/steps/b/params/lr"},     {"resources_exceeded", "/steps/b/resources/gpus"},
      {"invalid_workflow", "/steps/c/retries"}, {"unknown_step", "/steps/b/inputs/dataset"},
      {"missing_input", "/steps/c/inputs"},     {"missing_input", "/steps/c/inputs"},
  };
  EXPECT_EQ(got, want) << dump_errors(r);
}

TEST(ParseWorkflow, CycleNamesItsStepsInDataFlowOrder) {
  ValidationResult r = parse(R"({"name": "x", "steps": {
    "c": {"plugin": "train", "params": {"arch": "vit-b"}, "inputs": {"dataset": "b.checkpoint"}},
    "a": {"plugin": "train", "params": {"arch": "vit-b"}, "inputs": {"dataset": "c.checkpoint"}},
    "b": {"plugin": "train", "params": {"arch": "vit-b"}, "inputs": {"dataset": "a.checkpoint"}}
  }})");
  ASSERT_EQ(r.errors.size(), 1u) << dump_errors(r);
  EXPECT_EQ(r.errors[0].code, "cycle");
  EXPECT_EQ(r.errors[0].path, "/steps/a");
  EXPECT_EQ(r.errors[0].message, "steps form a cycle: a -> b -> c -> a");
}

TEST(ParseWorkflow, ShortestCycleThroughSmallestStep) {
  // a <-> b and a -> c -> b -> a share one component; the shortest way is reported once.
  ValidationResult r = parse(R"({"name": "x", "steps": {
    "a": {"plugin": "eval", "inputs": {"encoder": "b.report", "dataset": "b.report"}},
    "b": {"plugin": "eval", "inputs": {"encoder": "a.report", "dataset": "c.report"}},
    "c": {"plugin": "eval", "inputs": {"encoder": "a.report", "dataset": "a.report"}}
  }})");
  ASSERT_EQ(r.errors.size(), 1u) << dump_errors(r);
  EXPECT_EQ(r.errors[0].message, "steps form a cycle: a -> b -> a");
}

TEST(ParseWorkflow, MessagesSayWhatWasExpectedAndFound) {
  ValidationResult r = parse(R"({"name": "x", "steps": {
    "gen": {"plugin": "data", "resources": {"cpus": 40}},
    "t": {"plugin": "train", "params": {"arch": "vit-b", "epochs": "${params.n}"},
          "inputs": {"dataset": "gen.images"}}
  }})");
  ASSERT_EQ(r.errors.size(), 4u) << dump_errors(r);
  EXPECT_EQ(r.errors[0].message, "step asks for 40 CPUs but the daemon has 16");
  EXPECT_EQ(r.errors[1].code, "unknown_run_param");
  EXPECT_EQ(r.errors[1].path, "/steps/t/params/epochs");
  EXPECT_NE(r.errors[1].message.find("\"n\""), std::string::npos);
  EXPECT_EQ(r.errors[2].code, "param_type");  // the unreplaced string fails the schema too
  EXPECT_EQ(r.errors[3].message,
            "step \"gen\" (plugin \"data\") has no output \"images\" (outputs: dataset)");
}

TEST(ParseWorkflow, LongChainIsOrderedAndALongCycleFound) {
  // Thousands of steps: the graph code must not recurse once per step.
  const int n = 5000;
  json doc = {{"name", "chain"}, {"steps", json::object()}};
  doc["steps"]["s00000"] = {
      {"plugin", "eval"}, {"inputs", {{"encoder", "s04999.report"}, {"dataset", "s04999.report"}}}};
  char name[16], prev[16];
  for (int i = 1; i < n; ++i) {
    snprintf(name, sizeof name, "s%05d", i);
    snprintf(prev, sizeof prev, "s%05d", i - 1);
    std::string from = std::string(prev) + ".report";
    doc["steps"][name] = {{"plugin", "eval"}, {"inputs", {{"encoder", from}, {"dataset", from}}}};
  }
  ValidationResult cyclic = parse(doc.dump());
  ASSERT_EQ(cyclic.errors.size(), 1u);
  EXPECT_EQ(cyclic.errors[0].code, "cycle");
  EXPECT_EQ(cyclic.errors[0].path, "/steps/s00000");

  doc["steps"]["s00000"] = {{"plugin", "data"}};
  doc["steps"]["s00001"]["inputs"] = {{"encoder", "s00000.dataset"}, {"dataset", "s00000.dataset"}};
  ValidationResult r = parse(doc.dump());
  ASSERT_TRUE(r.ok()) << dump_errors(r);
  ASSERT_EQ(r.workflow->steps.size(), static_cast<size_t>(n));
  EXPECT_EQ(r.workflow->steps.front().name, "s00000");
  EXPECT_EQ(r.workflow->steps.back().name, "s04999");
}

TEST(ParseWorkflow, EmptyPluginMapRejectsEveryPlugin) {
  ValidationResult r = parse_workflow(R"({"name": "x", "steps": {"a": {"plugin": "data"}}})", {},
                                      testing::test_capacity());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message, "unknown plugin \"data\" (known: none)");
}

TEST(JsonNestingDepth, CountsArraysAndObjectsAndSkipsStrings) {
  EXPECT_EQ(json_nesting_depth("1", 100), 0u);
  EXPECT_EQ(json_nesting_depth(R"({"a": [1, {"b": []}]})", 100), 4u);
  EXPECT_EQ(json_nesting_depth(R"({"a": "[[[[{{{{\"[["})", 100), 1u);
  EXPECT_EQ(json_nesting_depth(std::string(1000000, '['), 64), 65u);  // stops early
}

TEST(WorkflowLimits, EachLimitIsAnErrorNamingIt) {
  WorkflowLimits limits;
  limits.max_depth = 8;
  limits.max_steps = 3;
  limits.max_params_bytes = 100;
  const auto& plugins = testing::test_plugins();
  const Capacity capacity = testing::test_capacity();

  ValidationResult deep = parse_workflow(
      R"({"name":"d","steps":{"a":{"plugin":"data","params":{"x":[[[[[[[[1]]]]]]]]}}}})",
      plugins, capacity, limits);
  ASSERT_EQ(deep.errors.size(), 1u) << dump_errors(deep);
  EXPECT_EQ(deep.errors[0].code, "too_deep");

  json many = {{"name", "m"}, {"steps", json::object()}};
  for (int i = 0; i < 4; ++i) many["steps"]["s" + std::to_string(i)] = {{"plugin", "data"}};
  ValidationResult too_many = parse_workflow(many.dump(), plugins, capacity, limits);
  ASSERT_EQ(too_many.errors.size(), 1u) << dump_errors(too_many);
  EXPECT_EQ(too_many.errors[0].code, "too_many_steps");
  EXPECT_EQ(too_many.errors[0].path, "/steps");

  json fat = {{"name", "f"},
              {"steps", {{"a", {{"plugin", "data"}, {"params", {{"note", std::string(200, 'x')}}}}}}}};
  ValidationResult large = parse_workflow(fat.dump(), plugins, capacity, limits);
  bool found = false;
  for (const auto& e : large.errors) found |= e.code == "params_too_large" && e.path == "/steps/a/params";
  EXPECT_TRUE(found) << dump_errors(large);
}

TEST(WorkflowLimits, ErrorListIsCappedWithACount) {
  WorkflowLimits limits;
  limits.max_errors = 5;
  json wrong = {{"name", "w"}, {"steps", json::object()}};
  for (int i = 0; i < 40; ++i) wrong["steps"]["s" + std::to_string(i)] = {{"plugin", "nope"}};
  ValidationResult r =
      parse_workflow(wrong.dump(), testing::test_plugins(), testing::test_capacity(), limits);
  ASSERT_EQ(r.errors.size(), 6u);
  EXPECT_EQ(r.errors[5].code, "too_many_errors");
  EXPECT_NE(r.errors[5].message.find("35 more"), std::string::npos) << r.errors[5].message;
}

TEST(WorkflowLimits, LongStepNamesAndStringsCannotExhaustTheStack) {
  json long_name = {{"name", "l"}, {"steps", {{std::string(200000, 'a'), {{"plugin", "data"}}}}}};
  ValidationResult r = parse(long_name.dump());
  ASSERT_FALSE(r.ok());
  for (const auto& e : r.errors) EXPECT_LE(e.message.size(), 1024u);
}

TEST(WorkflowLimits, ResourcesThatCouldForkBombAreRefused) {
  Capacity capacity = testing::test_capacity();
  capacity.max_ranks = 8;
  auto errors_of = [&](const json& step) {
    json workflow = {{"name", "r"}, {"steps", {{"a", step}}}};
    return parse_workflow(workflow.dump(), testing::test_plugins(), capacity).errors;
  };
  auto ranks = errors_of({{"plugin", "data"}, {"resources", {{"ranks", 9}}}});
  ASSERT_EQ(ranks.size(), 1u);
  EXPECT_EQ(ranks[0].code, "resources_exceeded");
  EXPECT_EQ(ranks[0].path, "/steps/a/resources/ranks");
  auto tiny = errors_of({{"plugin", "data"}, {"resources", {{"cpus", 0.01}}}});
  ASSERT_EQ(tiny.size(), 1u);
  EXPECT_EQ(tiny[0].path, "/steps/a/resources/cpus");
  auto forever = errors_of({{"plugin", "data"}, {"timeout_s", 1e300}});
  ASSERT_EQ(forever.size(), 1u);
  EXPECT_EQ(forever[0].path, "/steps/a/timeout_s");
  EXPECT_TRUE(errors_of({{"plugin", "data"}, {"resources", {{"ranks", 8}, {"cpus", 0.1}}},
                         {"timeout_s", 86400}})
                  .empty());
}

TEST(StepExecutor, ChoiceAndOptionsReachTheStepSpec) {
  Capacity capacity = testing::test_capacity();
  capacity.executors["slurm"] = ExecutorLimits{};
  const json workflow = {
      {"name", "e"},
      {"steps",
       {{"cluster", {{"plugin", "data"}, {"executor", "slurm"}, {"slurm", {{"partition", "gpu"}}}}},
        {"here", {{"plugin", "data"}}}}}};
  ValidationResult r = parse_workflow(workflow.dump(), testing::test_plugins(), capacity);
  ASSERT_TRUE(r.ok()) << dump_errors(r);
  EXPECT_EQ(r.workflow->find_step("cluster")->executor, "slurm");
  EXPECT_EQ(r.workflow->find_step("cluster")->executor_options, json({{"partition", "gpu"}}));
  EXPECT_EQ(r.workflow->find_step("here")->executor, "");  // the daemon's default, at run time
  EXPECT_EQ(r.workflow->find_step("here")->executor_options, json::object());
}

TEST(ChargedCpus, EveryRankPaysAtLeastTheMinimumShare) {
  Resources r;
  r.cpus = 0.1;
  r.ranks = 40;
  EXPECT_DOUBLE_EQ(charged_cpus(r), 4.0);
  r.cpus = 8;
  EXPECT_DOUBLE_EQ(charged_cpus(r), 8.0);
}

}  // namespace
}  // namespace radflow
