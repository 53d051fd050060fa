// Scheduler: turns accepted runs into attempts. One thread owns all run state, and
// holds no lock while it works (so it can wait for the database without stalling
// anyone): other threads write what they change to the database themselves and
// post a command (load this run, cancel that one) that the scheduling thread
// applies at its next pass. It
// starts ready steps (inputs done, resources free) in priority order, reaps finished
// attempts, ingests their outputs into the artifact store, retries failures with
// exponential backoff, and finishes runs. The database is the source of truth:
// start() resumes every unfinished run after a restart or crash, re-running only
// attempts that were lost.
//
// Attempts run through Executors (orchestrator/executor/executor.h), chosen per
// step by its "executor" field; the scheduler never starts a process itself. Time
// comes from a Clock (common/clock.h): timers, backoff and snapshots follow it, so
// tests drive them with a fake clock.
//
// Statuses: runs and steps are queued, running, succeeded, failed, cancelled;
// steps may also be cached. A step whose upstream failed is cancelled with reason
// "upstream_failed".
//
// Thread-safe: submit/cancel/waiting_reasons may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/lifecycle.h"
#include "common/status.h"
#include "orchestrator/executor/attempt.h"
#include "orchestrator/executor/executor.h"
#include "orchestrator/registry/plugin_registry.h"
#include "orchestrator/scheduler/attempt_recorder.h"
#include "orchestrator/scheduler/event_bus.h"
#include "orchestrator/scheduler/resource_pool.h"
#include "orchestrator/workflow/data_roots.h"
#include "orchestrator/workflow/workflow.h"
#include "storage/artifact_store.h"
#include "storage/store.h"

namespace radflow {

struct StepOutput;

struct SchedulerOptions {
  std::string data_dir;     // attempts work under data_dir/runs/<run>/<step>/attempt-<n>
  std::string worker_path;  // radflow-worker
  double cpus = 1;          // CPU slots
  std::vector<int> gpus;    // device indices
  double memory_gb = 0;     // 0 = not tracked
  double grace_s = 5;       // SIGTERM -> SIGKILL on cancel and timeout
  double retry_backoff_s = 1;       // first retry delay; doubles each failure
  double retry_backoff_max_s = 60;
  int max_ranks = 64;               // most ranks one attempt may start
  size_t max_log_bytes_per_attempt = 64u << 20;  // more is dropped, with a marker line
  std::vector<std::string> pass_env;  // variables workers inherit beyond the allowlist
  // Where path params may point: checked at validation (the API) and again when an
  // attempt starts (runs stored under other roots); workers may read them.
  DataRoots data_roots;
  bool confine = false;  // Landlock the workers (executor/landlock.h)
  // The executors steps may choose, by Executor::name(). Empty: a LocalExecutor
  // alone, so callers that predate executors keep working.
  std::map<std::string, std::shared_ptr<Executor>> executors;
  std::string default_executor = "local";  // for steps without "executor"
  // Timers, backoff, durations and snapshots; null = SteadyClock::instance().
  // Log timestamps stay wall-clock time. Must outlive the scheduler.
  Clock* clock = nullptr;
};

class Scheduler {
 public:
  Scheduler(SchedulerOptions options, storage::Store* store, storage::ArtifactStore* artifacts,
            PluginRegistry* registry, EventBus* bus);
  ~Scheduler();  // shutdown()

  // Resumes unfinished runs from the store and starts the scheduling thread.
  Status start();
  // Stops the workers (SIGTERM, then SIGKILL after the grace period) and the thread.
  // Their attempts are recorded as lost and their steps re-queued, so the next
  // start() runs them again. Attempts whose executor lets them outlive the daemon
  // (AttemptHandle::detach: Slurm jobs) run on, recorded as running, and the next
  // start() adopts them. Idempotent.
  void shutdown();

  // Stores a validated workflow as a new queued run; returns its id.
  // `submitted_by` is who the client says it is (may be empty). `manifest_json`,
  // the run's replay record (api/run_manifest.h), is stored with it when not empty.
  Result<int64_t> submit(const Workflow& workflow, const std::string& workflow_text,
                         const std::string& submitted_by = "",
                         const std::string& manifest_json = "");
  // Cancels a run: queued steps become cancelled at once, running attempts are
  // stopped. not_found for an unknown run; a finished run is left as it is.
  Status cancel(int64_t run_id);
  // Runs a finished run's failed and cancelled steps again; succeeded and cached
  // steps keep their outputs. not_found for an unknown run, "run_active" while it runs.
  Status retry(int64_t run_id);
  // Runs one step of a finished run again, bypassing the step cache for it, and every
  // step downstream of it (those may still be served from the cache when their
  // inputs come out the same). not_found, or "run_active" while the run runs.
  Status rerun_step(int64_t run_id, const std::string& step_name);

  // Deletes a finished run: its rows (Store::delete_run) and its attempt folders.
  // "run_active" while it is queued or running; not_found for an unknown run.
  // Stored artifacts stay until collect_garbage() finds them unreferenced.
  Result<storage::DeleteReport> delete_run(int64_t run_id);
  // Frees stored artifacts no run references any more (kDryRun: only reports).
  // Retention, each off at 0: log lines of finished runs older than
  // logs_older_than_ms, and the attempt folders (scratch files, resume
  // checkpoints) of runs that finished more than dirs_older_than_ms ago.
  struct GcOptions {
    storage::GcMode mode = storage::GcMode::kDryRun;
    int64_t min_age_ms = storage::kGcGraceMs;
    int64_t logs_older_than_ms = 0;
    int64_t dirs_older_than_ms = 0;
  };
  struct GcResult {
    storage::GcReport artifacts;
    int64_t logs_deleted = 0;
    int64_t attempt_dirs_removed = 0;  // run folders, each holding its attempts
  };
  Result<GcResult> collect_garbage(const GcOptions& options);

  Capacity capacity() const;
  const DataRoots& data_roots() const { return options_.data_roots; }
  const std::string& worker_path() const { return options_.worker_path; }
  // For each queued step of an active run, why it is not running yet, as of the
  // last scheduling pass. Never waits for the scheduler thread.
  std::map<std::string, std::string> waiting_reasons(int64_t run_id) const;

 private:
  struct ActiveAttempt;
  struct PendingFinish;
  struct StepState;
  struct RunState;
  struct ReadyKey;
  struct Adopted;
  struct TakenIn;

  // What another thread asks of the scheduling thread.
  struct Command {
    int64_t run_id = 0;
    bool load = false;    // (re)build the run from its rows: submitted, retried, re-run
    bool cancel = false;  // the cancel request is already in the database
    std::set<std::string> fresh_steps;  // requeued: earlier failures do not count
    std::string bypass_cache_step;      // re-run: never served from the cache
    // A write the scheduling thread did not wait for was refused: the run fails
    // with this message (reason internal_error), as when a write it waits for is.
    std::string fail_message;
  };
  void post(Command command);
  void apply_command(const Command& command);
  // Wakes the scheduling thread for a pass now.
  void wake();
  // From an attempt's monitor thread: the attempt of `step` in run `run_id` has
  // ended; the scheduling thread takes it in at its next pass (at once).
  void attempt_ended(int64_t run_id, const std::string& step);
  // From an attempt's end callback, before its outputs are taken in: its workers
  // are gone, so the scheduling thread frees its CPU slots and GPUs at once. A GPU
  // is never held idle while radflow hashes the checkpoint its step wrote.
  void workers_exited(int64_t run_id, const std::string& step);
  // The end callback of an attempt of `step` working in `dir` (its recorder calls it
  // on the executor's thread): a succeeded attempt's outputs are taken into the
  // artifact store there, into `taken_in`, and then attempt_ended(). Hashing and
  // moving outputs (seconds for a checkpoint) so never holds up the scheduling
  // thread, and attempts that end together are taken in side by side.
  std::function<void(const AttemptOutcome&)> on_attempt_end(int64_t run_id,
                                                            const std::string& step,
                                                            const std::string& dir,
                                                            std::shared_ptr<TakenIn> taken_in);
  // Queued or running, by the last pass's view or the database's: what retry,
  // re-run and delete refuse to touch.
  Result<bool> is_active(const storage::RunRecord& record) const;
  // Queues `names` of a finished run again in the database and has the scheduling
  // thread load it. Caller holds control_mutex_.
  Status requeue(const storage::RunRecord& record, const std::set<std::string>& names,
                 const std::string& reason, const std::string& message,
                 const std::string& bypass_cache_step);

  void loop();
  // One pass, event-driven: it takes in the attempts that ended and the timers that
  // are due, examines only the steps those touched, and starts ready steps from
  // ready_ until the CPU slots run out. Its cost follows what happened, not the
  // size of the runs.
  void schedule_pass();
  // Starts what it can from `queue` (ready_ or ready_elsewhere_); with `on_pool`,
  // stops once the pool cannot hold even the smallest attempt.
  void start_ready_from(std::set<ReadyKey>& queue, bool on_pool);
  // The workers of the attempt of `step_name` in run `run_id` are gone
  // (workers_exited): its slots go back to the pool.
  void take_in_exited(int64_t run_id, const std::string& step_name);
  // Returns the attempt's slots to the pool, once.
  void release_slots(ActiveAttempt& active);
  // The attempt of `step_name` in run `run_id` ended (attempt_ended).
  void take_in_ended(int64_t run_id, const std::string& step_name);
  // The active run `run_id` and its step `step_name`, or nulls when either is gone.
  std::pair<RunState*, StepState*> find_active_step(int64_t run_id, const std::string& step_name);
  // commit_finish's write for `step_name` in run `run_id` was answered.
  void take_in_recorded(int64_t run_id, const std::string& step_name);
  // A timer is due: a retry's backoff ran out, a refused write is tried again.
  void on_timer(int64_t run_id, const std::string& step_name);
  void add_timer(Clock::time_point at, int64_t run_id, const std::string& step_name);
  // Lists `step` for examination at this pass (once).
  void examine_later(RunState& run, StepState& step);
  // One run's share of a pass: carry out a cancel and examine the listed steps.
  void scan_run(RunState& run, Clock::time_point now);
  // A queued step whose inputs changed: cancel it (upstream failed), fail it
  // (input missing), serve it from the cache, or make it ready.
  void examine(RunState& run, StepState& step, Clock::time_point now);
  void set_ready(RunState& run, StepState& step, bool ready);
  void start_ready_steps();
  // Copies why queued steps wait and which runs are active for other threads; the
  // waiting texts at most every kSnapshotInterval (a timer makes the last one).
  void publish_snapshot(Clock::time_point now);
  // Runs `work` on `run`; an exception fails the run (reason internal_error)
  // instead of escaping the scheduler thread, which would end the daemon and, as
  // the run resumes at every start, end it again ("poison run").
  template <typename Work>
  void guard_run(RunState& run, Work&& work);
  void fail_run(RunState& run, const std::string& reason, const std::string& message);
  // At shutdown, on the scheduler thread (workers die with the thread that
  // started them): detach the attempts that can outlive the daemon; SIGTERM the
  // others, SIGKILL after the grace period, record them lost (daemon_shutdown) and
  // their steps queued for the next start.
  void stop_attempts();
  // What `step` reads: each bound input with the upstream output it names. An
  // upstream step that did not produce a bound (optional) output is input_missing.
  Result<std::vector<std::pair<std::string, StepOutput>>> bound_inputs(
      const RunState& run, const StepState& step) const;
  // A run whose rows cannot be loaded (after a restart) is failed with the reason
  // instead of stopping the daemon.
  void fail_unloadable_run(const storage::RunRecord& record, const std::string& message);
  void start_attempt(RunState& run, StepState& step, const Allocation& allocation);
  void finish_attempt(RunState& run, StepState& step);
  // Submits step.pending_finish (attempt end, outputs, step status in one
  // transaction) to the database without waiting: the writer commits it with
  // whatever else is queued (other attempts' starts and ends), and its answer comes
  // back through recorded_ (finish_recorded).
  void commit_finish(RunState& run, StepState& step);
  // The database answered step.pending_finish: applies it, or, refused, keeps it
  // for a later pass (at most once a second).
  void finish_recorded(RunState& run, StepState& step);
  // The scheduling thread waits for writes it submitted without waiting
  // (attempt_running_then, commit_finish): each is counted until its answer comes.
  void write_submitted();
  // Called by such a write's answer (on the writer's thread): uncounts it, runs
  // `then_locked` under mutex_ (to hand the scheduling thread what it must do), and
  // wakes the thread.
  void write_answered(const std::function<void()>& then_locked);
  // Records the step's new status, then applies it (apply_step_status).
  void set_step_status(RunState& run, StepState& step, StepStatus status,
                              const std::string& reason, const std::string& message);
  // Moves the step (and a queued run) to `status` in memory and announces it,
  // after the caller recorded it. The one place a status changes: a transition
  // the lifecycle table (common/lifecycle.h) forbids throws std::logic_error,
  // which fails the run through guard_run. With `deferred`, the announcements go
  // there instead of to the bus, for a caller that publishes them once its write
  // has committed.
  void apply_step_status(RunState& run, StepState& step, StepStatus status,
                         const std::string& reason, const std::string& message,
                         std::vector<nlohmann::json>* deferred = nullptr);
  void finish_run_if_done(RunState& run);
  Status load_run(const storage::RunRecord& record);
  // Serves a ready step from the step cache when an earlier step with the same key
  // succeeded and its outputs are still stored. Returns true on a hit.
  bool try_cache(RunState& run, StepState& step);
  // After a restart, before the runs load: asks the executor that ran the attempt
  // (attempt_executor_record.h) what became of it. Finished: its outputs are taken
  // in and the attempt and step recorded, instead of re-running it. Adopted: it
  // stays running and load_run makes the handle its step's active attempt. Gone
  // (or unknown): it is left for mark_lost_attempts and runs again. Returns
  // whether the attempt was adopted.
  bool recover_attempt(int64_t attempt_id);
  // Makes an adopted attempt the active attempt of `step` (load_run, at start()).
  void attach_adopted(RunState& run, StepState& step, std::unique_ptr<Adopted> adopted);
  // The executor a step runs on: its own choice or the default; null if this
  // daemon has no such executor.
  Executor* executor_for(const StepSpec& spec, std::string* name) const;
  // Whether `spec` runs on the daemon's CPU slots and GPUs (pool_): true unless its
  // executor has resources of its own (ResourceOwner::kExecutor, Slurm), whose
  // attempts are neither charged to the pool nor held back by it.
  bool on_daemon_pool(const StepSpec& spec) const;
  // An attempt's share of pool_: nothing for a step off the daemon's pool.
  std::optional<Allocation> try_allocate(const StepSpec& spec);
  void log_to_step(int64_t step_id, int64_t attempt_id, const std::string& level,
                   const std::string& message);

  const SchedulerOptions options_;
  Clock* const clock_;
  // By name; options_.executors, or a LocalExecutor when that is empty.
  const std::map<std::string, std::shared_ptr<Executor>> executors_;
  storage::Store* store_;
  storage::ArtifactStore* artifacts_;
  PluginRegistry* registry_;
  EventBus* bus_;

  // mutex_ guards only what threads hand the scheduling thread; it is never held
  // while anything is written or waited for.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool wake_requested_ = false;
  std::deque<Command> commands_;
  std::vector<std::pair<int64_t, std::string>> exited_;  // workers_exited, not yet taken in
  std::vector<std::pair<int64_t, std::string>> ended_;  // attempt_ended, not yet taken in
  std::vector<std::pair<int64_t, std::string>> recorded_;  // answered commit_finish writes
  // Writes submitted without waiting and not yet answered. While there are any, the
  // thread does not wait on the clock (so a test's fake clock never finds it idle
  // with a write out).
  int writes_in_flight_ = 0;
  // Serializes submit, retry, re-run and delete against each other (not against
  // the scheduling thread): a run cannot be retried and deleted at once.
  std::mutex control_mutex_;

  // Owned by the scheduling thread (and by start() before it runs).
  ResourcePool pool_;
  std::map<int64_t, std::unique_ptr<RunState>> runs_;  // active runs by id
  // Queued steps whose inputs are there, in start order: those charged to the daemon's
  // pool, and those on executors with resources of their own (Slurm), which a spent
  // pool does not hold back. Two sets, so that a full pool ends a pass at once.
  std::set<ReadyKey> ready_;
  std::set<ReadyKey> ready_elsewhere_;
  // Attempts recover_attempt adopted, by step id, until load_run attaches them.
  std::map<int64_t, std::unique_ptr<Adopted>> adopted_;
  // Backoffs and write retries: (when, run id, step name); "" names the run itself.
  std::multimap<Clock::time_point, std::pair<int64_t, std::string>> timers_;
  Clock::time_point snapshot_due_{};  // when the waiting texts may be copied again
  bool snapshot_stale_ = false;       // a pass changed something not yet copied

  const Capacity capacity_;
  // Copied out at the end of each pass for other threads: why queued steps wait,
  // and which runs are active.
  mutable std::mutex snapshot_mutex_;
  std::map<int64_t, std::map<std::string, std::string>> waiting_;
  std::set<int64_t> active_runs_;
  std::thread thread_;
};

}  // namespace radflow
