// The scheduler's in-memory view of active runs (internal to scheduler/): what
// each step is doing, its outputs, and the attempt in flight. Owned by the
// scheduling thread.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/lifecycle.h"
#include "orchestrator/scheduler/scheduler.h"

namespace radflow {

// When an attempt's workers ended and what its end callback (on_attempt_end) took
// into the artifact store. Written once, on the executor's thread, before
// attempt_ended(); read by the scheduling thread only after it took that end from
// ended_ (mutex_ orders the two).
struct Scheduler::TakenIn {
  int64_t exited_ms = 0;  // when the end callback heard the workers were gone
  std::optional<Result<std::map<std::string, storage::StoredArtifact>>> outputs;
};

struct Scheduler::ActiveAttempt {
  int64_t attempt_id = 0;
  int number = 0;
  Allocation allocation;
  bool slots_released = false;  // allocation is back in the pool (release_slots)
  std::filesystem::path dir;
  std::shared_ptr<TakenIn> taken_in = std::make_shared<TakenIn>();  // shared with the recorder
  std::unique_ptr<AttemptRecorder> recorder;
  std::unique_ptr<AttemptHandle> running;  // from the executor named below
  std::string executor;
  Clock::time_point started_at{};  // for radflow_step_duration_seconds
};

// An attempt an earlier daemon started that its executor still follows
// (RecoveredAttempt::kAdopted), waiting for load_run to make it its step's active
// attempt.
struct Scheduler::Adopted {
  int64_t attempt_id = 0;
  int number = 0;
  std::filesystem::path dir;
  std::string executor;
  std::shared_ptr<TakenIn> taken_in;          // shared with the recorder
  std::unique_ptr<AttemptRecorder> recorder;  // the sink the handle reports to
  std::unique_ptr<AttemptHandle> handle;
};

// How an attempt ended and what its step becomes, decided but not yet in the
// database. Memory follows the database: the step changes only once this is
// recorded, and while the database refuses (locked, disk full) the scheduler
// retries instead of guessing.
struct Scheduler::PendingFinish {
  int64_t attempt_id = 0;
  int number = 0;
  storage::AttemptEnd end;
  StepStatus next = StepStatus::kFailed;
  std::string reason;
  std::string message;
  std::map<std::string, storage::StoredArtifact> stored;  // outputs taken in
  bool counts_as_failure = false;
  Clock::time_point retry_at{};
  bool reported = false;  // the first refused write was logged
  // Submitted and not yet answered; the answer is written by the writer's thread
  // before it posts to recorded_, and read after (mutex_ orders the two).
  bool in_flight = false;
  std::shared_ptr<std::optional<Result<std::vector<int64_t>>>> answer;
};

// One output of a finished step, as later steps read it.
struct StepOutput {
  int64_t artifact_id = 0;
  std::string digest;
  std::string path;
};

struct Scheduler::StepState {
  int64_t id = 0;
  int position = 0;
  StepSpec spec;
  StepStatus status = StepStatus::kQueued;
  int attempts_started = 0;  // attempt numbers used so far
  int failures = 0;          // failed attempts (lost ones do not count)
  Clock::time_point not_before{};
  std::string waiting;       // why a queued step is not running
  bool cache_checked = false;  // the cache was consulted once its inputs were ready
  bool bypass_cache = false;   // re-run on request: never served from the cache
  std::map<std::string, StepOutput> outputs;
  std::unique_ptr<ActiveAttempt> active;
  std::unique_ptr<PendingFinish> pending_finish;  // an ended attempt not yet recorded
  // The steps that read an output of this one: examined again when it ends, so a
  // pass looks only at steps whose inputs changed, never at the whole run.
  std::vector<StepState*> downstream;
  bool to_examine = false;  // listed in RunState::to_examine
  bool ready = false;       // listed in Scheduler::ready_
};

struct Scheduler::RunState {
  int64_t id = 0;
  RunStatus status = RunStatus::kQueued;
  bool cancel_requested = false;
  std::string internal_error;  // set when radflow itself failed this run
  bool end_unrecorded = false;  // the run's end was refused by the database (logged once)
  int max_parallel = 0;  // 0 = no limit
  bool cancel_applied = false;  // cancel_requested has been carried out on every step
  std::map<std::string, StepState> steps;  // node-based: StepState pointers stay valid
  // Queued steps whose readiness may have changed since they were last examined.
  std::vector<StepState*> to_examine;
  int active_steps = 0;      // steps with an attempt in flight
  int unfinished_steps = 0;  // steps not in a terminal status

  int running_steps() const { return active_steps; }
};

// The step's executor and its options, read from the run's stored workflow
// document (`workflow`): the step rows predate executors, and the document,
// validated when it was submitted, holds both. Leaves `spec` as it is where the
// document says nothing.
void read_executor_choice(const nlohmann::json& workflow, const std::string& default_executor,
                          StepSpec* spec);

// Order of the ready queue: priority first, then older runs, then workflow order.
struct Scheduler::ReadyKey {
  int priority = 0;
  int64_t run_id = 0;
  int position = 0;
  RunState* run = nullptr;
  StepState* step = nullptr;
  bool operator<(const ReadyKey& o) const {
    if (priority != o.priority) return priority > o.priority;
    if (run_id != o.run_id) return run_id < o.run_id;
    return position < o.position;
  }
};

}  // namespace radflow
