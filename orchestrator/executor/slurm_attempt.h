// SlurmAttempt: one attempt that runs as a Slurm job, as the SlurmExecutor follows
// it: the event lines its workers post (deliver), the job's state the poller reads
// (observe), cancellation and the outcome. Internal to slurm_executor.cpp.
//
// Sink calls are serialised by sink_mutex_ (posts of several ranks arrive on several
// HTTP threads); on_finished() is the last of them, after which deliver() refuses.
// done() turns true just before on_finished(), as executor.h promises.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/executor/attempt.h"
#include "orchestrator/executor/rank_output.h"
#include "orchestrator/executor/slurm_commands.h"

namespace radflow {

// What start() leaves in the attempt folder for recover(): slurm-job.json.
struct SlurmJobRecord {
  std::string job_id;
  std::string token;  // the attempt's events token
};
Status write_job_record(const std::string& attempt_dir, const SlurmJobRecord& record);
std::optional<SlurmJobRecord> read_job_record(const std::string& attempt_dir);

// How long a job may stay COMPLETING (its batch script has ended; Slurm is
// still cleaning up, e.g. a node that does not answer) before the attempt ends
// anyway, from the ranks' result files or the job's state.
constexpr double kCompletingGraceS = 60;

class SlurmAttempt {
 public:
  SlurmAttempt(AttemptLaunch launch, AttemptSink* sink, SlurmJobRecord job,
               std::shared_ptr<const SlurmCommands> commands);

  int64_t attempt_id() const { return launch_.attempt_id; }
  const std::string& job_id() const { return job_.job_id; }

  Status deliver(std::string_view token, int rank, std::string_view lines);
  // invalid_token unless `token` is this attempt's and it still runs.
  Status check_token(std::string_view token);
  // The poller's view of the job: squeue's line, or null when squeue lists no such
  // job. Decides the outcome once the job has ended, has been COMPLETING for
  // kCompletingGraceS, or is gone from squeue (then from the result files, else
  // reason "lost").
  void observe(const SlurmJobState* job, std::chrono::steady_clock::time_point now);
  void cancel(const std::string& why);
  // Stops following the job without stopping it (AttemptHandle::detach): the sink
  // is closed without on_finished(), done() turns true, the poller lets go of it
  // and the workers' posts are refused until a restarted daemon adopts the job.
  // False when it has ended or a stop (cancel, timeout) is under way.
  bool detach();
  AttemptOutcome wait();
  bool done() const;
  // Until the sink has heard on_finished() too (wait() returns just before).
  void wait_until_ended();
  std::string where() const;

 private:
  // The job has ended (job: its last squeue line, or null): takes in what the ranks
  // printed, decides the outcome and tells the sink. `forced_reason` "lost" for a
  // job Slurm requeued; "" to decide from the stop reason, results and state.
  void end(const SlurmJobState* job, const std::string& forced_reason);
  // Why a job that left no complete results ended, from its Slurm state.
  AttemptOutcome failure_from_slurm(const SlurmJobState* job) const;
  void stop_job(const std::string& reason);
  Status token_status(std::string_view token) const;  // sink_mutex_ held

  const AttemptLaunch launch_;
  AttemptSink* const sink_;
  const SlurmJobRecord job_;
  const std::shared_ptr<const SlurmCommands> commands_;

  mutable std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;                 // guarded by mutex_
  bool ended_ = false;                // on_finished() returned; mutex_
  std::string stop_reason_;           // "", "cancelled", "timeout"; mutex_
  std::string cancel_message_;        // mutex_
  std::string nodes_;                 // mutex_
  std::string waiting_text_;          // the last one reported; mutex_
  std::optional<std::chrono::steady_clock::time_point> running_since_;  // mutex_
  std::optional<std::chrono::steady_clock::time_point> completing_since_;  // mutex_
  AttemptOutcome outcome_;            // mutex_

  std::mutex sink_mutex_;             // held while the sink is called
  bool sink_closed_ = false;          // guarded by sink_mutex_
  std::vector<RankOutput> ranks_;     // guarded by sink_mutex_
};

}  // namespace radflow
