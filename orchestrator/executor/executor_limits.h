// ExecutorLimits: what one attempt may ask of an executor beyond the daemon's own
// bounds (a Slurm partition's node count, GPUs per job, its time limit). Workflow
// validation checks a step against the limits of the executor it chooses
// (Capacity::executors in workflow/workflow.h); Executor::limits() reports them.
// Header-only plain data, so the workflow library needs no executor code.
#pragma once

#include <optional>

namespace radflow {

// Whose CPUs, GPUs and memory an executor's attempts use.
enum class ResourceOwner {
  // The daemon's machine (--cpus, --gpus, --memory-gb): the scheduler hands them
  // out, and validation refuses a step asking more than the daemon has.
  kDaemon,
  // The executor's own (a Slurm cluster's): the step neither takes from the
  // daemon's pool nor is bounded by it; the limits below are the only ones, and
  // the executor asks its resource manager for what the step wants.
  kExecutor,
};

struct ExecutorLimits {
  std::optional<int> max_ranks;         // nullopt: no limit beyond --max-ranks
  std::optional<int> max_gpus;          // nullopt: no limit beyond the daemon's GPUs
  std::optional<double> max_timeout_s;  // nullopt: no limit beyond 30 days
  ResourceOwner resources = ResourceOwner::kDaemon;
};

}  // namespace radflow
