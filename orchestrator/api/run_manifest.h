// The replay record of a run (docs/api.md, "Run manifests"): what was submitted and
// what it ran with, so that `radflow reproduce` can run it again exactly, or say
// precisely what keeps it from doing so.
//
// build_run_manifest() is called when a run is accepted; Store::create_run stores
// the result with the run (run_manifests, migration 7). Its JSON object:
//   schema         1
//   workflow_text  the workflow exactly as submitted (a string: byte-exact)
//   run_params     the run-level params
//   worker         {path, sha256} of the radflow-worker binary that runs the steps
//   environment    numerics knobs workers inherit from radflowd (OMP_*, MKL_*,
//                  OPENBLAS_*, GOMP_*, CUBLAS_*, CUDA_*, NCCL_*), name -> value
//   steps          per step, in topological order: name, plugin, plugin_version,
//                  plugin_sha256 (the library's bytes), params (resolved: run params
//                  substituted, schema defaults filled in), seeds (the params whose
//                  name contains "seed"), inputs, resources, numerics {threads (the
//                  RADFLOW_CPUS a worker gets), device ("cpu" or "cuda"), precision
//                  (the step's "precision" param, null when it has none: the
//                  plugin's default)}, cache
//   replay_of      null, or {run_id, differences, allowed} for a run that
//                  `reproduce` submitted
// Pure functions, except worker_build (reads the file) and numerics_environment
// (reads the environment); all are thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/status.h"
#include "orchestrator/workflow/workflow.h"

namespace radflow {

struct WorkerBuild {
  std::string path;
  std::string sha256;  // of the file's bytes
};

// The worker binary's sha256, hashed again only when its size or mtime changed
// (submits must not re-read a multi-MB file each time). io_error names the file.
Result<WorkerBuild> worker_build(const std::string& worker_path);

// The variables of radflowd's environment that change worker numerics (the
// prefixes above, which the executor passes to workers), sorted by name.
nlohmann::json numerics_environment();

nlohmann::json build_run_manifest(const Workflow& workflow, const std::string& workflow_text,
                                  const WorkerBuild& worker, const nlohmann::json& environment,
                                  const nlohmann::json& replay_of = nullptr);

// What keeps `recorded` from being replayed exactly by `current`, the manifest the
// same workflow text builds now. One Error per difference, path naming the step:
//   plugin_changed       a step's plugin library has other bytes (both sha256s
//                        and versions in the message)
//   params_changed       a step's params resolve differently (new schema defaults)
//   step_missing         a recorded step the workflow no longer yields
//   worker_changed       another radflow-worker build (both sha256s)
//   environment_changed  a numerics variable differs (both values)
//   numerics_changed     a step's threads, device or precision differ
std::vector<Error> replay_differences(const nlohmann::json& recorded,
                                      const nlohmann::json& current);

}  // namespace radflow
