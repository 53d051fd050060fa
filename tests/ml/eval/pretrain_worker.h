// Helpers for the pretrain plugin tests: an attempt spec for radflow-worker, a
// one-call attempt runner, event lookups and exact encoder comparison. Header-only,
// shared by pretrain_plugin_test.cpp and pretrain_resume_test.cpp. Not thread-safe.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/worker/worker_process.h"

namespace radflow::ml::pretrain_test {

namespace fs = std::filesystem;
using nlohmann::json;

// Writes <attempt_dir>/spec-<rank>.json for `plugin` and returns its path.
inline std::string write_spec(const std::string& plugin, const json& params, const json& inputs,
                              const std::string& attempt_dir, int rank = 0, int world_size = 1) {
  fs::create_directories(attempt_dir);
  json spec = {{"plugin_path", std::string(RADFLOW_PLUGIN_DIR) + "/" + plugin + ".so"},
               {"plugin_dir", RADFLOW_PLUGIN_DIR},
               {"plugin_name", plugin},
               {"params", params},
               {"inputs", inputs},
               {"output_dir", attempt_dir + "/outputs"},
               {"rank", rank},
               {"world_size", world_size},
               {"local_rank", rank}};
  const std::string path = attempt_dir + "/spec-" + std::to_string(rank) + ".json";
  std::ofstream(path) << spec.dump();
  return path;
}

// Runs one single-rank attempt to its end; returns its events (the end event last).
inline std::vector<json> run_attempt(const std::string& plugin, const json& params, const json& inputs,
                                     const std::string& attempt_dir,
                                     std::map<std::string, std::string> env = {}) {
  const std::string spec = write_spec(plugin, params, inputs, attempt_dir);
  env.emplace("RADFLOW_ATTEMPT_DIR", attempt_dir);
  env.emplace("RADFLOW_CPUS", "1");
  test::WorkerProcess worker({"--attempt", spec}, env);
  worker.read_all();
  worker.wait();
  return worker.events();
}

inline std::string output_of(const std::vector<json>& events, const std::string& name) {
  for (const auto& e : events) {
    if (e.value("type", "") == "output" && e.value("name", "") == name) return e["path"];
  }
  return "";
}

inline int points_of(const std::vector<json>& events, const std::string& metric) {
  int n = 0;
  for (const auto& e : events) n += e.value("type", "") == "metric" && e.value("name", "") == metric;
  return n;
}

inline bool logged(const std::vector<json>& events, const std::string& message) {
  for (const auto& e : events) {
    if (e.value("type", "") == "log" && e.value("message", "") == message) return true;
  }
  return false;
}

inline std::string end_message(const std::vector<json>& events) {
  return events.empty() ? "" : events.back().value("message", "");
}

inline std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace radflow::ml::pretrain_test
