// SlurmExecutor: runs each attempt as one Slurm batch job, one task per rank
// (slurm_job.h has the job's shape and the rank environment). docs/slurm.md says
// what a cluster must provide.
//
// - start() writes the rank specs, slurm-task.sh, slurm-batch.sh and slurm-job.json
//   (job id and the attempt's token, mode 0600) into the attempt folder, which must
//   lie on a filesystem the nodes share, and submits with sbatch.
// - One poller thread asks `squeue --me` for every followed job each poll_interval_s:
//   a pending job's reason becomes the attempt's progress text ("waiting in Slurm:
//   Resources"); an ended job's outcome comes from the rank result files the workers
//   wrote (attempt_recovery.h), else from its Slurm state; NODE_FAIL, PREEMPTED,
//   BOOT_FAIL, or a job squeue no longer knows without results, is reason "lost".
//   timeout_s counts from when the job starts running; past it the job is scancelled
//   (reason "timeout"); --time is set to the next whole minute as Slurm's own limit.
// - Workers post their event lines to report_url + /api/v1/attempts/{id}/events with
//   the attempt's token (deliver_events); the sink hears them from that HTTP thread,
//   serialised per attempt, and on_finished() after the last.
// - cancel() scancels the whole job (every rank).
// - recover() reads slurm-job.json: a job still queued or running is adopted, an
//   ended one's results are taken, and without either the attempt is gone.
//
// Thread-safe. The executor must outlive the handles it returns.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "orchestrator/executor/executor.h"
#include "orchestrator/executor/remote_attempt_events.h"

namespace radflow {

class SlurmAttempt;
class SlurmCommands;

struct SlurmOptions {
  std::string partition;                 // --partition; "" = the cluster's default
  std::string account;                   // --account
  std::vector<std::string> sbatch_args;  // more sbatch options, as they are
  // The daemon's base URL as the nodes reach it ("http://head:8080"); workers post
  // their events below it. Required before the first start() (set_report_url).
  std::string report_url;
  // Set for every Slurm command (sbatch, squeue, scancel), e.g. SLURM_CONF. The
  // daemon's own SLURM_CONF is passed on as well.
  std::map<std::string, std::string> command_env;
  double poll_interval_s = 1.0;
  // Longest a Slurm command may take before it counts as failed.
  double command_timeout_s = 30;
};

class SlurmExecutor : public Executor, public RemoteAttemptEvents {
 public:
  explicit SlurmExecutor(SlurmOptions options);
  ~SlurmExecutor() override;  // stops the poller; handles must be gone by then

  // The daemon's URL as the nodes reach it, once known (radflowd learns its port
  // when it binds); replaces SlurmOptions::report_url for attempts started later.
  void set_report_url(std::string url);

  std::string name() const override { return "slurm"; }
  Result<std::unique_ptr<AttemptHandle>> start(AttemptLaunch launch, AttemptSink* sink) override;
  RecoveredAttempt recover(const AttemptLaunch& launch, AttemptSink* sink) override;
  // The cluster's resources, not the daemon's (ResourceOwner::kExecutor): Slurm
  // steps take nothing from the daemon's CPU slots and GPUs and are not bounded by
  // them; Slurm itself refuses a job no partition can hold (spawn_failed).
  Limits limits() const override;
  Status deliver_events(int64_t attempt_id, std::string_view token, int rank,
                        std::string_view lines) override;
  Status check_token(int64_t attempt_id, std::string_view token) override;

 private:
  void follow(std::shared_ptr<SlurmAttempt> attempt);
  // The followed attempt, or "invalid_token".
  Result<std::shared_ptr<SlurmAttempt>> followed(int64_t attempt_id);
  void poll_loop();

  SlurmOptions options_;  // report_url guarded by mutex_
  std::shared_ptr<const SlurmCommands> commands_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;                                       // guarded by mutex_
  std::map<int64_t, std::shared_ptr<SlurmAttempt>> attempts_;  // by attempt id; mutex_
  std::thread poller_;
};

}  // namespace radflow
