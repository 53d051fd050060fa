// The spec file of one rank (`radflow-worker --attempt rank-<r>.json`, worker/
// attempt_spec.h) as an executor writes it from an AttemptLaunch, and the absolute
// form of a launch's paths (workers run in the attempt folder, where relative paths
// would point elsewhere). Pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "orchestrator/executor/attempt.h"

namespace radflow {

// The rank's spec: plugin, params, inputs, outputs under attempt_dir/outputs, rank
// and world size, device (cpu, or cuda:<rank mod GPUs>), its result file, and the
// Landlock section when launch.confine.
nlohmann::json rank_spec_json(const AttemptLaunch& launch, int rank);

// worker_path, plugin_path, plugin_dir, attempt_dir and the inputs made absolute.
void make_launch_paths_absolute(AttemptLaunch* launch);

}  // namespace radflow
