// Executor: the seam between the scheduler and whatever runs an attempt's workers.
// The scheduler decides what runs, where its outputs go and what a result means;
// an executor only starts the ranks of one attempt, reports what they say, stops
// them on request, and after a daemon restart says what became of an attempt an
// earlier daemon started.
//
// Implementations:
//   local  (local_executor.h)  one radflow-worker process per rank on this machine
//   slurm  (slurm_executor.h)  one batch job per attempt, one Slurm task per rank
//   fake   (tests/orchestrator/fake_executor.h) scripted outcomes, for scheduler tests
//
// Contract shared by every implementation:
// - start() returns once the attempt is on its way (processes forked, job submitted)
//   or with the reason it could not be started (reason "spawn_failed" is recorded).
// - Events reach the AttemptSink from a thread of the executor's, never from the
//   caller of start(); on_finished() is the last call, after which wait() returns
//   at once. The sink outlives the handle.
// - The outcome's reason uses the common vocabulary: ok, plugin_failed,
//   plugin_exception, crashed, timeout, cancelled, lost (the executor lost the
//   attempt: node failure, preemption; the scheduler retries it without counting a
//   failure), spawn_failed.
// - A handle destroyed while its attempt runs cancels it and waits for the end,
//   unless detach() let it go (Slurm jobs outlive a daemon that stops gracefully).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "orchestrator/executor/attempt.h"
#include "orchestrator/executor/executor_limits.h"

namespace radflow {

class AttemptHandle {
 public:
  virtual ~AttemptHandle() = default;
  // Asks the ranks to stop (SIGTERM, SIGKILL after the grace period; scancel for
  // Slurm). The outcome becomes cancelled unless the attempt already ended.
  // Idempotent; any thread.
  virtual void cancel(const std::string& why) = 0;
  // Blocks until the attempt has ended and every event was delivered.
  virtual AttemptOutcome wait() = 0;
  virtual bool done() const = 0;
  // Where the attempt runs, for the attempt's row and the log: local worker pids
  // in rank order (empty for executors without local processes).
  virtual std::vector<int64_t> pids() const = 0;
  // A short human text: "pids 4711,4712", "slurm job 42 on node1".
  virtual std::string where() const = 0;
  // At a graceful daemon stop: lets the attempt run on without this daemon, where
  // the executor can take it back after a restart (recover() adopts it). Returns
  // true once the handle has stopped following it: the sink hears nothing more,
  // not even on_finished(), and destroying the handle stops nothing. Returns false,
  // changing nothing, where the attempt cannot outlive the daemon (local workers
  // die with it), has ended, or is being stopped; the caller then cancels it.
  virtual bool detach() { return false; }
};

// What an executor knows about an attempt that an earlier daemon started.
struct RecoveredAttempt {
  enum class State {
    kGone,      // nothing left running and no result: the scheduler runs it again
    kFinished,  // it ended while the daemon was down: `outcome` says how
    kAdopted,   // it still runs and `handle` follows it from here on
  };
  State state = State::kGone;
  AttemptOutcome outcome;                 // kFinished
  std::unique_ptr<AttemptHandle> handle;  // kAdopted
};

class Executor {
 public:
  virtual ~Executor() = default;
  // "local", "slurm", "fake": the value of a step's "executor" field.
  virtual std::string name() const = 0;
  virtual Result<std::unique_ptr<AttemptHandle>> start(AttemptLaunch launch,
                                                       AttemptSink* sink) = 0;
  // After a restart: the attempt that ran in `attempt_dir` with `ranks` ranks. The
  // executor reads what it left there at start (workers.json, slurm-job.json) and
  // stops what it cannot follow (a local worker's pipes died with the old daemon,
  // so local orphans are killed and their results, if complete, taken).
  virtual RecoveredAttempt recover(const AttemptLaunch& launch, AttemptSink* sink) = 0;
  // Limits validation checks a step against when it asks for this executor:
  // empty means no limit beyond the daemon's own. An alias of ExecutorLimits
  // (executor_limits.h), which workflow validation reads without linking this.
  using Limits = ExecutorLimits;
  virtual Limits limits() const { return {}; }
};

}  // namespace radflow
