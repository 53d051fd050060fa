// RunningAttempt: one step attempt in flight — one radflow-worker process per rank,
// monitored by a thread of its own that parses the workers' event lines, captures
// their stdout/stderr, enforces the timeout and carries out cancellation.
//
// Each worker runs in attempt_dir (its working directory) with umask 077, fds 0-3
// only and an allowlisted environment (process.h), confined with Landlock when
// AttemptLaunch::confine says so. Every string that reaches the
// AttemptSink or the AttemptOutcome is valid UTF-8 and bounded (rank_output.h). When
// the attempt is stopped (cancel, timeout, a failed rank) or its pipes stay open
// after every worker exited, the monitor SIGKILLs each worker's descendants, also
// those that left its process group with setsid(), as well as the group.
//
// Events reach the AttemptSink from the monitor thread, in batches. The sink must
// outlive the attempt. cancel() and wait() may be called from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "orchestrator/executor/process.h"

namespace radflow {

struct AttemptLaunch {
  std::string worker_path;  // radflow-worker
  std::string plugin_path;
  std::string plugin_dir;
  std::string plugin_name;
  nlohmann::json params = nlohmann::json::object();
  std::map<std::string, std::string> inputs;  // input name -> file or folder path
  std::string attempt_dir;  // spec files go here; outputs under attempt_dir/outputs
  int attempt_number = 1;   // exported as RADFLOW_ATTEMPT
  int ranks = 1;
  std::vector<int> gpus;    // device indices for CUDA_VISIBLE_DEVICES; empty = none
  // What the step asked for (its validated resources). The local executor runs on
  // `gpus` and the CPU slots the scheduler charged; an executor that asks a
  // resource manager of its own asks for these (Slurm: --cpus-per-task, --mem,
  // --gres), and then `gpus` is empty: the daemon's devices are not its to hand out.
  double cpus = 1;        // CPU slots for the whole attempt
  double memory_gb = 0;   // for the whole attempt; 0 = no request
  int gpu_count = 0;      // devices the step asked for
  double timeout_s = 0;     // 0 = no limit
  double grace_s = 5;       // SIGTERM -> SIGKILL delay on cancel or timeout
  std::map<std::string, std::string> env;  // extra environment for every rank
  // Names of daemon environment variables the workers also get, beyond the
  // allowlist in process.h (an operator's additions).
  std::vector<std::string> env_passthrough;
  // Landlock (landlock.h): when set, each worker confines itself to reading these
  // paths (the data roots), the plugin folder and the inputs, and to writing the
  // step's folder (attempt_dir's parent: this attempt's folder and what the step
  // keeps across attempts); TMPDIR is then attempt_dir/tmp. Unset: not confined.
  bool confine = false;
  std::vector<std::string> confine_read;
  // Set by executors whose workers write on another machine (Slurm): each worker
  // hashes its outputs where it ran (AttemptOutcome::output_digests), and the daemon
  // takes an output in only if what it reads has the same digest.
  bool hash_outputs = false;
  // Who the attempt is, for executors that name or report it elsewhere (a Slurm
  // job's name, a worker's HTTP reports); the local executor needs none of them.
  int64_t run_id = 0;
  std::string step_name;
  int64_t attempt_id = 0;
  // The step's options for its executor: the object under the executor's name in
  // the step (`"slurm": {...}`), validated only as an object; {} when absent.
  nlohmann::json executor_options = nlohmann::json::object();
};

struct AttemptLogLine {
  int rank = 0;
  int64_t ts_ms = 0;
  std::string level;   // debug, info, warning, error
  std::string stream;  // plugin, stdout, stderr, radflow
  std::string message;
};

struct AttemptMetric {
  int rank = 0;
  std::string name;
  int64_t iteration = 0;
  double value = 0;
};


struct AttemptOutcome {
  std::string status;  // succeeded, failed, cancelled
  std::string reason;  // ok, plugin_failed, plugin_exception, crashed, timeout, ...
  std::string message;
  int exit_code = -1;  // of the rank that decided the outcome
  int signal = 0;
  std::map<std::string, std::string> outputs;  // rank 0's registered outputs
  // Rank 0's outputs hashed by the worker where it ran (AttemptLaunch::hash_outputs;
  // read from its result file): name -> sha256. Empty otherwise.
  std::map<std::string, std::string> output_digests;
};

// Receives what the workers report while they run. Called from the monitor thread.
class AttemptSink {
 public:
  virtual ~AttemptSink() = default;
  virtual void on_logs(std::vector<AttemptLogLine> lines) {}
  virtual void on_metrics(std::vector<AttemptMetric> points) {}
  virtual void on_progress(double fraction, const std::string& message) {}
  // The attempt has ended with `outcome`, which wait() returns, at once, from now
  // on. The last call; it may take its time (the scheduler takes the outputs into
  // the artifact store here, off its own thread) and the handle is not released
  // before it returns.
  virtual void on_finished(const AttemptOutcome& outcome) { (void)outcome; }
};

class RunningAttempt {
 public:
  // Writes the rank specs, starts every rank and the monitor thread.
  static Result<std::unique_ptr<RunningAttempt>> start(AttemptLaunch launch, AttemptSink* sink);
  ~RunningAttempt();  // cancels if still running, then joins

  // Asks the workers to stop (SIGTERM), SIGKILL after the grace period. The outcome
  // becomes cancelled unless the attempt already ended. Idempotent.
  void cancel(const std::string& why);
  // Blocks until every rank has ended and its pipes are drained.
  AttemptOutcome wait();
  bool done() const { return done_.load(); }
  // The process id of each rank's worker, in rank order.
  std::vector<int64_t> pids() const;

 private:
  RunningAttempt(AttemptLaunch launch, AttemptSink* sink);
  void monitor();

  AttemptLaunch launch_;
  AttemptSink* sink_;
  std::vector<ChildProcess> ranks_;
  std::thread thread_;

  std::mutex mutex_;
  std::condition_variable done_cv_;
  std::atomic<bool> done_{false};
  std::atomic<bool> cancel_requested_{false};
  // An eventfd cancel() writes to, so the monitor thread wakes from poll() at once.
  int wake_fd_ = -1;
  std::string cancel_reason_;  // guarded by mutex_
  AttemptOutcome outcome_;     // written by the monitor before done_
};

}  // namespace radflow
