// radflow plugin test harness: runs a plugin's run() in the test's own process, the
// way radflow-worker would, and hands back everything it reported. For unit tests
// of a plugin with GoogleTest (or any framework), without a daemon or a worker:
//
//   #include "radflow/plugin_testing.hpp"
//   extern "C" const rf_plugin* radflow_plugin(void);   // the plugin's .cpp, linked in
//
//   radflow::testing::PluginRun run;
//   run.params = {{"k", 5}};
//   run.inputs = {{"table", "/path/to/table.csv"}};
//   radflow::testing::PluginResult result = radflow::testing::run_plugin(*radflow_plugin(), run);
//   ASSERT_TRUE(result.ok()) << result.message;
//   EXPECT_NEAR(result.last_metric("r2"), 0.9, 0.05);
//
// What it checks, as the daemon and the worker do (same code): the descriptor
// (params schema, inputs and outputs JSON), params against the params schema after
// filling in its defaults (JSON Schema subset of docs/workflows.md), input bindings
// (undeclared or unbound required inputs), register_output (declared name, existing
// path) and, after a successful run, that every required output was registered.
// Not checked: path params against data roots, confinement, resources.
//
// Link radflow::plugin_testing (find_package(radflow)). Thread-safety: run_plugin may
// be called from several threads at once; the plugin's callbacks may come from any of
// its threads (they are serialised).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "radflow/plugin.h"

namespace radflow::testing {

// One run of a plugin: what the daemon would pass to its worker.
struct PluginRun {
  nlohmann::json params = nlohmann::json::object();
  // Input name -> path of a file or folder (made absolute before the run).
  std::map<std::string, std::string> inputs;
  // Where outputs go. Empty: a fresh temp folder, kept after the run (its path is
  // PluginResult::output_dir) so that the test can read the outputs; remove it with
  // remove_output_dir().
  std::string output_dir;
  int32_t rank = 0;
  int32_t world_size = 1;
  std::string device = "cpu";
  // is_cancelled() answers non-zero from the start: tests cancellation handling.
  bool cancelled = false;
};

struct LogLine {
  int32_t level = RF_LOG_INFO;  // RF_LOG_*
  std::string message;
};

struct MetricPoint {
  std::string name;
  int64_t iteration = 0;
  double value = 0;
};

struct ProgressPoint {
  double fraction = 0;
  std::string message;
};

// Outcome of run_plugin. `status` and `reason` use the worker's words
// (docs/plugins.md, "Failure reasons"): status "succeeded", "failed" or "cancelled";
// reason "ok", "invalid_descriptor", "invalid_params", "invalid_spec",
// "plugin_failed", "plugin_exception", "cancelled" or "missing_outputs".
struct PluginResult {
  std::string status;
  std::string reason;
  std::string message;   // why it failed: fail()'s message, or the problems found
  int32_t run_code = -1; // what run() returned; -1 when it was not called
  // With reason "invalid_params": one entry per problem, "code at /pointer: message"
  // (the daemon's validation codes: param_type, param_required, param_unknown, ...).
  std::vector<std::string> param_errors;
  nlohmann::json params;  // the params run() saw: defaults filled in
  std::string output_dir;
  bool made_output_dir = false;  // run_plugin created output_dir (a temp folder)
  std::map<std::string, std::string> outputs;  // registered: name -> absolute path
  std::vector<LogLine> logs;
  std::vector<MetricPoint> metrics;
  std::vector<ProgressPoint> progress;

  bool ok() const { return status == "succeeded"; }
  // The values of metric `name` in the order reported; empty if never reported.
  std::vector<double> metric(const std::string& name) const;
  // The last value of metric `name`; NaN if it was never reported.
  double last_metric(const std::string& name) const;
  // Whether any log line contains `text`.
  bool logged(const std::string& text) const;
  // Removes output_dir when run_plugin made it; a folder the test gave is left alone.
  void remove_output_dir() const;
};

// Runs `plugin` (the descriptor its radflow_plugin() returns) once. Never throws for
// anything the plugin does; a plugin that crashes takes the test process down, as it
// would take down its worker.
PluginResult run_plugin(const rf_plugin& plugin, const PluginRun& run);

}  // namespace radflow::testing
