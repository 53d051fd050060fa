// The lifecycle of runs, steps and attempts: their statuses as enums, and the
// one table of which status may follow which. The scheduler changes a status
// only through these checks; strings exist only at the storage and HTTP edges
// (to_string / *_status_from), where they are the stable names of docs/api.md.
//
//   run:     queued -> running -> succeeded | failed | cancelled
//            queued -> cancelled | failed      (cancelled or unrecoverable before it ran)
//            finished -> running                (retry, re-run of a step)
//   step:    queued -> running | cached | cancelled | failed (failed: could not start)
//            running -> succeeded | failed | cancelled | queued (retry, daemon shutdown)
//            finished -> queued                 (retry, re-run)
//   attempt: running -> succeeded | failed | cancelled | lost
//            lost -> succeeded | failed         (taken in after a restart)
//
// Pure functions; safe from any thread.
#pragma once

#include <optional>
#include <string_view>

namespace radflow {

enum class RunStatus { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
enum class StepStatus { kQueued, kRunning, kSucceeded, kFailed, kCancelled, kCached };
enum class AttemptStatus { kRunning, kSucceeded, kFailed, kCancelled, kLost };

const char* to_string(RunStatus status);
const char* to_string(StepStatus status);
const char* to_string(AttemptStatus status);

// nullopt for a name that is not a status of that kind.
std::optional<RunStatus> run_status_from(std::string_view name);
std::optional<StepStatus> step_status_from(std::string_view name);
std::optional<AttemptStatus> attempt_status_from(std::string_view name);

bool is_terminal(RunStatus status);
bool is_terminal(StepStatus status);
bool is_terminal(AttemptStatus status);
// The step's outputs are there for the steps that read them.
inline bool is_done_ok(StepStatus status) {
  return status == StepStatus::kSucceeded || status == StepStatus::kCached;
}

// Whether `to` may follow `from` (the table above). Staying put is allowed.
bool is_allowed(RunStatus from, RunStatus to);
bool is_allowed(StepStatus from, StepStatus to);
bool is_allowed(AttemptStatus from, AttemptStatus to);

}  // namespace radflow
