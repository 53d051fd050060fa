#include "common/lifecycle.h"

#include <array>
#include <cstddef>

namespace radflow {
namespace {

constexpr std::array<const char*, 5> kRunNames = {"queued", "running", "succeeded", "failed",
                                                   "cancelled"};
constexpr std::array<const char*, 6> kStepNames = {"queued", "running",   "succeeded",
                                                    "failed", "cancelled", "cached"};
constexpr std::array<const char*, 5> kAttemptNames = {"running", "succeeded", "failed",
                                                       "cancelled", "lost"};

template <typename Enum, size_t N>
std::optional<Enum> from_name(const std::array<const char*, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace

const char* to_string(RunStatus status) { return kRunNames[static_cast<size_t>(status)]; }
const char* to_string(StepStatus status) { return kStepNames[static_cast<size_t>(status)]; }
const char* to_string(AttemptStatus status) {
  return kAttemptNames[static_cast<size_t>(status)];
}

std::optional<RunStatus> run_status_from(std::string_view name) {
  return from_name<RunStatus>(kRunNames, name);
}
std::optional<StepStatus> step_status_from(std::string_view name) {
  return from_name<StepStatus>(kStepNames, name);
}
std::optional<AttemptStatus> attempt_status_from(std::string_view name) {
  return from_name<AttemptStatus>(kAttemptNames, name);
}

bool is_terminal(RunStatus status) {
  return status != RunStatus::kQueued && status != RunStatus::kRunning;
}
bool is_terminal(StepStatus status) {
  return status != StepStatus::kQueued && status != StepStatus::kRunning;
}
bool is_terminal(AttemptStatus status) { return status != AttemptStatus::kRunning; }

bool is_allowed(RunStatus from, RunStatus to) {
  if (from == to) return true;
  switch (from) {
    case RunStatus::kQueued:
      return true;  // starts, or ends before any step ran (cancel, failed recovery)
    case RunStatus::kRunning:
      return is_terminal(to);
    default:
      return to == RunStatus::kRunning;  // retry or re-run of a finished run
  }
}

bool is_allowed(StepStatus from, StepStatus to) {
  if (from == to) return true;
  switch (from) {
    case StepStatus::kQueued:
      return to != StepStatus::kSucceeded;  // success needs an attempt that ran
    case StepStatus::kRunning:
      return to != StepStatus::kCached;
    default:
      return to == StepStatus::kQueued;  // retry or re-run
  }
}

bool is_allowed(AttemptStatus from, AttemptStatus to) {
  if (from == to) return true;
  switch (from) {
    case AttemptStatus::kRunning:
      return true;
    case AttemptStatus::kLost:
      return to == AttemptStatus::kSucceeded || to == AttemptStatus::kFailed;
    default:
      return false;  // a finished attempt is history
  }
}

}  // namespace radflow
