// run_plugin: runs one real-plugin attempt through the real radflow-worker binary
// (tests/worker/worker_process.h) and returns its exit code and events. For the
// data plugins' tests; not thread-safe.
#pragma once

#include <sys/wait.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/worker/worker_process.h"

namespace radflow::test {

struct PluginRun {
  int exit_code = -1;
  std::vector<nlohmann::json> events;
  nlohmann::json end;
  std::string output(const std::string& name) const {
    for (const auto& e : events) {
      if (e.value("type", "") == "output" && e.value("name", "") == name) return e.value("path", "");
    }
    return "";
  }
};

inline PluginRun run_plugin(const std::string& plugin, const nlohmann::json& params,
                            const nlohmann::json& inputs, const std::string& output_dir,
                            const std::string& spec_path) {
  const std::string dir = RADFLOW_PLUGIN_DIR;
  const nlohmann::json spec = {{"plugin_path", dir + "/" + plugin + ".so"}, {"plugin_dir", dir},
                               {"plugin_name", plugin}, {"params", params},
                               {"inputs", inputs}, {"output_dir", output_dir}};
  std::ofstream(spec_path) << spec.dump();
  WorkerProcess worker({"--attempt", spec_path});
  worker.read_all();
  const int status = worker.wait();
  PluginRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  run.events = worker.events();
  run.end = worker.end_event();
  return run;
}

}  // namespace radflow::test
