// Workflow: a validated DAG of steps, the output of parse_workflow() (validate.h).
// Plain data; steps are in a topological order (every step after all steps it
// reads from), ties broken by name so the order is deterministic.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "orchestrator/executor/executor_limits.h"

namespace radflow {

struct Resources {
  int gpus = 0;          // whole devices
  double cpus = 1;       // CPU slots
  double memory_gb = 0;  // 0 = no request
  int ranks = 1;         // processes started for each attempt (torchrun-style)
};

// One bound input: this step's input `input` reads `step`'s output `output`.
struct InputBinding {
  std::string input;
  std::string step;
  std::string output;
};

struct StepSpec {
  std::string name;
  std::string plugin;
  std::string plugin_version;  // of the plugin that validated it
  std::string plugin_sha256;   // of its library file: a rebuilt plugin misses the cache
  nlohmann::json params = nlohmann::json::object();  // schema defaults filled in
  std::vector<InputBinding> inputs;                  // sorted by input name
  Resources resources;
  int retries = 0;         // extra attempts after a failure
  double timeout_s = 0;    // per attempt; 0 = no limit
  bool cache = true;       // "cache": false opts out of the step cache
  int priority = 0;        // higher runs first among ready steps
  // Which of the daemon's executors runs the step's attempts ("local", "slurm");
  // "" = the daemon's default. Neither it nor the options below are part of the
  // step cache key: where an attempt runs does not change what it computes.
  std::string executor;
  // The step's `"<executor>": {...}` object (e.g. "slurm": {"partition": ...});
  // {} when absent. Only the chosen executor's options are accepted.
  nlohmann::json executor_options = nlohmann::json::object();

  // Names of the steps this one reads from, sorted, without duplicates.
  std::vector<std::string> upstream() const;
};

struct Workflow {
  std::string name;
  nlohmann::json params = nlohmann::json::object();  // run-level params
  int max_parallel = 0;  // most steps of this run running at once; 0 = no limit
  std::vector<StepSpec> steps;                       // topological order

  const StepSpec* find_step(const std::string& name) const;
};

// What the daemon can offer one step; requests beyond it are rejected at validation.
struct Capacity {
  int gpus = 0;
  double cpus = 1;
  double memory_gb = 0;  // 0 = unknown, not checked
  int max_ranks = 64;    // most worker processes one attempt may start
  // The executors a step may name in "executor", with what each accepts; a step
  // that names none runs on default_executor.
  std::map<std::string, ExecutorLimits> executors = {{"local", {}}};
  std::string default_executor = "local";
};

// The smallest CPU share a step may ask for, and what each rank of an attempt is
// charged at least: a step cannot start processes the CPU slots do not pay for.
inline constexpr double kMinCpusPerRank = 0.1;
// The longest timeout_s accepted (30 days); longer is a mistake, not a plan.
inline constexpr double kMaxTimeoutS = 30.0 * 24 * 3600;

// CPU slots an attempt of `r` takes from the pool: its request, but at least the
// minimum share for every rank it starts.
inline double charged_cpus(const Resources& r) {
  const double floor = kMinCpusPerRank * (r.ranks > 1 ? r.ranks : 1);
  return r.cpus > floor ? r.cpus : floor;
}

}  // namespace radflow
