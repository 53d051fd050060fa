// AttemptSpec: what `radflow-worker --attempt SPEC.json` runs — one rank of one step
// attempt. Written by the executor, read once by the worker. Plain data.
//
//   {"plugin_path", "plugin_dir", "plugin_name", "params": {...},
//    "inputs": {"name": "/abs/path"}, "output_dir", "rank", "world_size",
//    "local_rank", "device", "events_fd": 3, "result_path", "hash_outputs",
//    "confine": {"read": [...], "read_exec": [...], "read_write": [...]}}
//
// plugin_path, plugin_dir and output_dir are required; the rest default as below.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "orchestrator/executor/landlock.h"

namespace radflow {

struct AttemptSpec {
  std::string plugin_path;
  std::string plugin_dir;
  std::string plugin_name;  // empty: do not check the descriptor's name
  nlohmann::json params = nlohmann::json::object();
  std::map<std::string, std::string> inputs;
  std::string output_dir;
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string device = "cpu";
  int events_fd = 3;
  // Where the outcome is also written (atomically), so a restarted daemon can take in
  // an attempt that ended while it was down. Empty: not written.
  std::string result_path;
  // Set (by executors whose workers run on other machines): the worker hashes its
  // outputs where it ran and puts the digests in the result file, so the daemon can
  // check what reached it through the shared filesystem.
  bool hash_outputs = false;
  // Set: the worker confines itself with Landlock to these paths (plus the system's)
  // after loading the plugin and before running it.
  std::optional<Confinement> confine;
};

constexpr int kDefaultEventsFd = 3;

// Errors have code "invalid_spec" and a JSON pointer path naming the field.
Result<AttemptSpec> parse_attempt_spec(const nlohmann::json& json);
Result<AttemptSpec> read_attempt_spec(const std::string& file);

}  // namespace radflow
