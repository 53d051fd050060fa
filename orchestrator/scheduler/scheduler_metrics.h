// What the scheduler counts for GET /metrics (common/metrics.h), where it happens:
// attempts started and ended (by plugin, status and reason), how long they took,
// the worker processes and CPU/GPU slots they hold, and the steps that reached a
// final status. Labels are plugin names, statuses and reason codes: bounded sets.
// Thread-safe (the registry locks); called from the scheduling thread.
#pragma once

#include <cstddef>
#include <string>

#include "common/lifecycle.h"

namespace radflow::scheduler_metrics {

// Declares the families, so that /metrics lists them before the first attempt.
void declare();
void attempt_started(const std::string& plugin, size_t ranks, size_t gpus, double cpus);
// `status` succeeded, failed or cancelled; `reason` the outcome's code (ok,
// plugin_failed, crashed, timeout, ...). Releases what attempt_started held.
void attempt_ended(const std::string& plugin, const std::string& status,
                   const std::string& reason, double seconds, size_t ranks, size_t gpus,
                   double cpus);
// Counts a step that reached a final status (succeeded, cached, failed, cancelled).
void step_status(StepStatus status);

}  // namespace radflow::scheduler_metrics
