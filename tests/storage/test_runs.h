// Small runs for storage tests. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "storage/store.h"

namespace radflow::storage::testing {

// One run with one step "s" of plugin "p".
inline NewRun one_step_run(const std::string &name = "logs") {
  NewRun run;
  run.name = name;
  run.workflow_json = "{}";
  NewStep step;
  step.name = "s";
  step.plugin = "p";
  step.plugin_version = "1";
  run.steps.push_back(step);
  return run;
}

// Creates one_step_run(name) and returns its step's id.
inline int64_t make_step(Store &store, const std::string &name = "logs") {
  auto run_id = store.create_run(one_step_run(name));
  EXPECT_TRUE(run_id.ok()) << run_id.status().to_string();
  if (!run_id.ok()) return 0;
  return store.find_step(*run_id, "s")->id;
}

}  // namespace radflow::storage::testing
