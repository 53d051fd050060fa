// run_local_plugin: runs one step plugin locally through radflow-worker, without a
// daemon, for the CLI commands that need image or ML code (`radflow image`,
// `radflow embed`) while the CLI itself links neither. The worker is found beside the
// radflow binary; plugins in RADFLOW_DEFAULT_PLUGIN_DIR, overridable with
// RADFLOW_PLUGIN_DIR.
//
// The worker's events (its fd 3: JSON lines of log, metric, progress, output, end) are
// handed to `on_event` as they arrive, on the calling thread; its stdout/stderr go to
// a log file in the work folder. Not thread-safe (forks; one run at a time per caller).
#pragma once

#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace radflow::cli {

struct LocalPluginRequest {
  std::string plugin;  // the plugin's name: <plugin dir>/<plugin>.so
  nlohmann::json params = nlohmann::json::object();
  std::map<std::string, std::string> inputs;  // input name -> absolute path
  // Appended to the "plugin not found" error, e.g. why the plugin may not be built.
  std::string missing_hint;
};

struct LocalPluginRun {
  std::string work_dir;    // temp folder of the run; the caller removes it
  std::string output_dir;  // work_dir/out: the plugin's output files
};

using PluginEventHandler = std::function<void(const nlohmann::json& event)>;

// radflow-worker beside the running radflow binary (it may not exist).
std::string worker_path();

// The folder plugins are loaded from: $RADFLOW_PLUGIN_DIR, else <prefix>/lib/radflow/plugins
// for an installed radflow (common/install_layout.h), else the build's plugin folder.
std::string plugin_dir();

// Runs the plugin to its end. Errors (code "failed"): plugin or worker missing, the
// worker could not run, or the plugin did not succeed (its failure message). On
// return run->work_dir is set whenever a temp folder was made, also on failure.
Status run_local_plugin(const LocalPluginRequest& request, const PluginEventHandler& on_event,
                        LocalPluginRun* run);

}  // namespace radflow::cli
