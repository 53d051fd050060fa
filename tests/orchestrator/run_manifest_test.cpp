// The replay record (orchestrator/api/run_manifest.h) without a daemon: what a
// manifest holds for a step, and every kind of difference replay_differences names.
#include "orchestrator/api/run_manifest.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace radflow {
namespace {

using nlohmann::json;

Workflow one_step(const std::string& sha256, json params) {
  StepSpec step;
  step.name = "train";
  step.plugin = "pretrain";
  step.plugin_version = "1.2.0";
  step.plugin_sha256 = sha256;
  step.params = std::move(params);
  step.resources.cpus = 1.5;
  Workflow workflow;
  workflow.name = "w";
  workflow.params = {{"seed", 7}};
  workflow.steps.push_back(step);
  return workflow;
}

const WorkerBuild kWorker{"/opt/radflow-worker", "w1"};

std::vector<std::string> codes(const std::vector<Error>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.code);
  return out;
}

TEST(RunManifest, RecordsSeedsThreadsDeviceAndPrecision) {
  const json m = build_run_manifest(
      one_step("aa", {{"seed", 7}, {"deid_seed", 3}, {"precision", "fp32"}, {"lr", 0.1}}),
      "{\"name\": \"w\"}", kWorker, json::object());
  EXPECT_EQ(m["workflow_text"], "{\"name\": \"w\"}");
  EXPECT_EQ(m["worker"]["sha256"], "w1");
  const json& step = m["steps"][0];
  EXPECT_EQ(step["plugin_sha256"], "aa");
  EXPECT_EQ(step["seeds"], json({{"seed", 7}, {"deid_seed", 3}}));
  // 1.5 CPU slots: the worker gets RADFLOW_CPUS=2 threads.
  EXPECT_EQ(step["numerics"], json({{"threads", 2}, {"device", "cpu"}, {"precision", "fp32"}}));
  EXPECT_TRUE(m["replay_of"].is_null());
}

TEST(RunManifest, TheSameRecordHasNoDifferences) {
  const json a = build_run_manifest(one_step("aa", {{"seed", 7}}), "{}", kWorker, {{"OMP_NUM_THREADS", "2"}});
  EXPECT_TRUE(replay_differences(a, a).empty());
}

TEST(RunManifest, EveryKindOfDifferenceIsNamedWithBothValues) {
  const json was = build_run_manifest(one_step("aa", {{"seed", 7}}), "{}", kWorker,
                                      {{"OMP_NUM_THREADS", "2"}});
  Workflow changed = one_step("bb", {{"seed", 8}});
  changed.steps[0].plugin_version = "1.3.0";
  changed.steps[0].resources.gpus = 1;
  const json now = build_run_manifest(changed, "{}", WorkerBuild{"/opt/radflow-worker", "w2"},
                                      {{"MKL_NUM_THREADS", "4"}});
  const auto diffs = replay_differences(was, now);
  EXPECT_EQ(codes(diffs),
            (std::vector<std::string>{"plugin_changed", "params_changed", "numerics_changed",
                                      "worker_changed", "environment_changed",
                                      "environment_changed"}));
  EXPECT_EQ(diffs[0].message,
            "step train: plugin pretrain changed: recorded sha256 aa (version 1.2.0), now sha256 "
            "bb (version 1.3.0)");
  EXPECT_EQ(diffs[0].path, "/steps/train/plugin_sha256");
  EXPECT_NE(diffs[3].message.find("recorded sha256 w1, now sha256 w2"), std::string::npos);
  EXPECT_EQ(diffs[4].message, "radflowd's MKL_NUM_THREADS differs: recorded unset, now 4");
  EXPECT_EQ(diffs[5].message, "radflowd's OMP_NUM_THREADS differs: recorded 2, now unset");
}

TEST(RunManifest, ARecordedStepTheWorkflowNoLongerYieldsIsNamed) {
  const json was = build_run_manifest(one_step("aa", {}), "{}", kWorker, json::object());
  Workflow renamed = one_step("aa", {});
  renamed.steps[0].name = "other";
  const auto diffs =
      replay_differences(was, build_run_manifest(renamed, "{}", kWorker, json::object()));
  ASSERT_EQ(codes(diffs), std::vector<std::string>{"step_missing"});
  EXPECT_EQ(diffs[0].path, "/steps/train");
}

TEST(RunManifest, NumericsEnvironmentReadsOnlyNumericsVariables) {
  ::setenv("OMP_NUM_THREADS", "3", 1);
  ::setenv("RADFLOW_MANIFEST_TEST_OTHER", "x", 1);
  const json env = numerics_environment();
  EXPECT_EQ(env.value("OMP_NUM_THREADS", ""), "3");
  EXPECT_FALSE(env.contains("RADFLOW_MANIFEST_TEST_OTHER"));
  EXPECT_FALSE(env.contains("PATH"));
  ::unsetenv("OMP_NUM_THREADS");
  ::unsetenv("RADFLOW_MANIFEST_TEST_OTHER");
}

TEST(RunManifest, WorkerBuildHashesTheFileAndNamesAMissingOne) {
  auto self = worker_build("/proc/self/exe");
  ASSERT_TRUE(self.ok()) << self.status().to_string();
  EXPECT_EQ(self->sha256.size(), 64u);
  auto missing = worker_build("/nonexistent/radflow-worker");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), "io_error");
  EXPECT_NE(missing.status().message().find("/nonexistent/radflow-worker"), std::string::npos);
}

}  // namespace
}  // namespace radflow
