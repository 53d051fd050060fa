// ExecutorLimits: what one attempt may ask of an executor beyond the daemon's own
// bounds (a Slurm partition's node count, GPUs per job, its time limit). Workflow
// validation checks a step against the limits of the executor it chooses
// (Capacity::executors in workflow/workflow.h); Executor::limits() reports them.
// Header-only plain data, so the workflow library needs no executor code.
#pragma once

#include <optional>

namespace radflow {

struct ExecutorLimits {
  std::optional<int> max_ranks;         // nullopt: no limit beyond --max-ranks
  std::optional<int> max_gpus;          // nullopt: no limit beyond the daemon's GPUs
  std::optional<double> max_timeout_s;  // nullopt: no limit beyond 30 days
};

}  // namespace radflow
