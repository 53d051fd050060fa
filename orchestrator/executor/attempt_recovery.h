// What an attempt leaves in its folder so that a daemon restarted after a crash can
// finish the bookkeeping instead of running the step again:
//   workers.json          [{"pid", "start_ticks"}] of every rank, written at start;
//                         pid plus start time tells a live orphan from a reused pid
//   rank-<r>.result.json  {"end": <end event>, "outputs": {...}}, written by the worker
//                         before it exits
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "orchestrator/executor/attempt.h"

namespace radflow {

std::string result_path(const std::string& attempt_dir, int rank);
void record_workers(const std::string& attempt_dir, const std::vector<int64_t>& pids);

// SIGKILLs the process group of every recorded worker that is still the same
// process (same start time). Returns how many were stopped.
int stop_orphaned_workers(const std::string& attempt_dir);

// The outcome every rank wrote, when all `ranks` wrote one: succeeded only if every
// rank did (outputs from rank 0), else the first rank's failure. nullopt when a
// rank left no result (it was still running, or died without one).
std::optional<AttemptOutcome> read_attempt_result(const std::string& attempt_dir, int ranks);

// Start time of a process in clock ticks since boot (/proc/PID/stat field 22).
std::optional<uint64_t> process_start_ticks(int64_t pid);

}  // namespace radflow
