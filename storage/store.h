// Store: radflow's typed access to its SQLite database (data_dir/radflow.db):
// runs, steps, attempts, logs, metrics, artifacts, lineage and the plugin
// descriptor cache.
//
// Writes all go through one writer thread (see store_writer.h), which commits
// whatever is queued in one transaction. Methods returning Status or Result
// block until their write committed, so a read on any thread afterwards sees
// it. append_logs, append_metrics and set_step_progress return at once (their
// failures are logged and counted in failed_writes()); flush() waits for them.
// They block their caller while the writer's queue is full (backpressure, see
// StoreOptions). Reads run on a pool of read connections (reader_pool.h,
// StoreOptions::read_connections), several at once; WAL mode gives each a
// consistent snapshot while the writer works.
//
// Durability (Durability::kFull, the default): the writer connection runs with
// synchronous=FULL, so once a blocking write returns OK its transaction is on
// disk and survives power loss: accepted runs and every state transition.
// Detached writes (logs, metrics, progress) are durable once flush() returns
// or a later blocking write returned (batches commit in order). With kNormal a
// power loss may roll back the last commits (never corrupts).
//
// Thread-safe: any thread may call any method. The destructor commits
// everything queued before it returns. Errors: sqlite failures are
// "storage_error" (naming what the SQL was for); missing rows are "not_found"
// ("run 7 not found").
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/artifact_store.h"
#include "storage/records.h"
#include "storage/store_writer.h"

namespace radflow::storage {

class Database;
class ReaderPool;

enum class Durability {
  kFull,    // synchronous=FULL: a commit that returned survives power loss
  kNormal,  // synchronous=NORMAL: the last commits may roll back on power loss
};

struct StoreOptions {
  // How long a write waits for a lock another connection (say the sqlite3
  // shell) holds before failing with storage_error.
  int busy_timeout_ms = 10000;
  Durability durability = Durability::kFull;
  WriterLimits writer_limits;  // the writer queue's cap (backpressure)
  // Read connections: up to this many reads (API requests) run at once. At
  // least 1; a slow read (a long metric series) then holds up only its own.
  int read_connections = 4;
};

// The dashboard's run search (Store::search_runs): filters, one order, one page.
enum class RunSortKey {
  kId,        // the run id
  kDuration,  // finished_ms - started_ms; runs without both (or with finished < started)
              // have none and come last in either order
};
enum class SortOrder { kDescending, kAscending };
struct RunSearch {
  std::optional<std::string> status;  // exact status; none: any
  std::string workflow;               // exact run (workflow) name; empty: any
  // Empty: any. Otherwise a run matches when text is its id ("42" or "#42") or an
  // ASCII case-insensitive substring of its name, message, submitter or one of its
  // tags.
  std::string text;
  RunSortKey sort = RunSortKey::kId;
  SortOrder order = SortOrder::kDescending;
  int limit = 50;
  int offset = 0;
};
struct RunPage {
  std::vector<RunRecord> runs;  // summaries, as list_runs returns them
  int64_t total = 0;            // how many runs match, across all pages
};

class Store {
 public:
  // Creates data_dir when missing, opens (creating) data_dir/radflow.db, runs
  // PRAGMA quick_check (a damaged file is refused with a storage_error naming
  // it and what to do), sets WAL, synchronous, foreign keys and the busy
  // timeout, and migrates the schema.
  static Result<std::unique_ptr<Store>> open(const std::string &data_dir);
  static Result<std::unique_ptr<Store>> open(const std::string &data_dir,
                                             const StoreOptions &options);
  ~Store();
  Store(const Store &) = delete;
  Store &operator=(const Store &) = delete;

  const std::string &database_path() const { return database_path_; }

  // ---- writes ----
  // The run, its steps and their inputs in one transaction; the run and every
  // step start "queued". Returns the run id. Fails whole (no run row) on any
  // error, for example two steps with one name.
  Result<int64_t> create_run(const NewRun &run);
  // started_ms is set on the first "running", finished_ms on a terminal status
  // (succeeded, failed, cancelled, cached, lost, skipped).
  Status set_run_status(int64_t run_id, const std::string &status, const std::string &message);
  Status set_step_status(int64_t step_id, const std::string &status, const std::string &reason,
                         const std::string &message);
  void set_step_progress(int64_t step_id, double fraction, const std::string &message);
  // cached_from_step 0: not served from the cache (only the key is recorded).
  Status set_step_cache(int64_t step_id, const std::string &cache_key, int64_t cached_from_step);
  // A new attempt, status "running", started now. Returns its id.
  Result<int64_t> create_attempt(int64_t step_id, int number, const std::string &devices);
  Status set_attempt_pids(int64_t attempt_id, const std::vector<int64_t> &pids);
  Status finish_attempt(int64_t attempt_id, const std::string &status, const std::string &reason,
                        const std::string &message, std::optional<int> exit_code,
                        std::optional<int> signal);
  void append_logs(std::vector<LogRecord> logs);
  void append_metrics(std::vector<MetricPoint> points);
  // Returns the new artifact row's id (rows are per registration, digests
  // repeat). An attempt registers each output name once: registering the same
  // (producer_attempt_id, output_name) again with the same digest returns the
  // existing row's id (crash recovery does this); with another digest it fails
  // with "conflict".
  Result<int64_t> add_artifact(const ArtifactRecord &artifact);
  Status add_attempt_input(int64_t attempt_id, const std::string &input_name, int64_t artifact_id);
  Status put_plugin_descriptor(const std::string &sha256, const std::string &descriptor_json);
  // Crash recovery: every attempt still "running" becomes "lost" (reason
  // "lost"), except those in `keep_running` (attempts an executor still follows
  // after a restart). Returns the ids marked lost, ascending.
  Result<std::vector<int64_t>> mark_lost_attempts(const std::set<int64_t> &keep_running = {});
  // Blocks until every write queued before the call has committed.
  void flush();

  // ---- multi-row state changes, each ONE transaction (all or nothing) ----
  // An attempt's start is two commits (each an fsync, which is what a no-op step's
  // start costs), where the rows one by one took four or five: begin_attempt before
  // its workers exist (a crash from then on finds the attempt), attempt_running
  // once they do (a reader that sees the step running sees the workers' pids).
  struct AttemptStart {
    int64_t step_id = 0;
    int number = 1;
    std::string devices;
    std::vector<std::pair<std::string, int64_t>> inputs;  // input name, artifact id
  };
  // The attempt's row ("running", started now) and the artifacts it reads
  // (lineage). Returns the attempt id.
  Result<int64_t> begin_attempt(const AttemptStart &start);
  // begin_attempt without waiting: the caller prepares the attempt's folder while
  // the commit's fsync runs, and waits on the future before any worker starts.
  std::future<Result<int64_t>> begin_attempt_async(const AttemptStart &start);
  struct AttemptRunning {
    int64_t run_id = 0;
    bool start_run = false;  // the run is still queued: it turns running too
    int64_t step_id = 0;
    int64_t attempt_id = 0;
    std::vector<int64_t> pids;
  };
  // The workers' pids, the step's status "running" and, when start_run, the run's.
  Status attempt_running(const AttemptRunning &running);
  // The same without waiting: `then` gets the result on the writer's thread once
  // committed (StoreWriter::submit_then), so the caller's thread goes on at once.
  void attempt_running_then(const AttemptRunning &running, std::function<void(Status)> then);
  // Ends an attempt (as finish_attempt), registers its outputs (as
  // add_artifact; a record's producer_attempt_id and step_id default to
  // attempt_id and step_id when 0) and sets its step's status (as
  // set_step_status). Returns the artifact ids in the order of `outputs`.
  Result<std::vector<int64_t>> finish_attempt_with_outputs(int64_t attempt_id,
                                                           const AttemptEnd &end, int64_t step_id,
                                                           const StepStatusChange &step,
                                                           const std::vector<ArtifactRecord> &outputs);
  // The same without waiting: `then` gets the artifact ids (or the error) on the
  // writer's thread once committed (StoreWriter::submit_then).
  void finish_attempt_with_outputs_then(
      int64_t attempt_id, const AttemptEnd &end, int64_t step_id, const StepStatusChange &step,
      const std::vector<ArtifactRecord> &outputs,
      std::function<void(Result<std::vector<int64_t>>)> then);
  // Retry / resume: every step in `step_ids` (all of run `run_id`, else
  // not_found and nothing changes) becomes "queued" with `reason` and
  // `message`, its finished_ms and progress cleared; the run becomes
  // "running" with `message`, its finished_ms cleared and its cancel request
  // withdrawn.
  Status requeue_steps(int64_t run_id, const std::vector<int64_t> &step_ids,
                       const std::string &reason, const std::string &message);
  // Persists that the run was asked to cancel (RunRecord::cancel_requested),
  // so a daemon restarted before the cancel finished still cancels it.
  // Idempotent; not_found for an unknown run.
  Status record_cancel_request(int64_t run_id);
  Result<bool> run_cancel_requested(int64_t run_id);

  // ---- deletion and retention ----
  // Deletes a finished run: the run, its steps, step inputs, attempts, logs,
  // metrics, attempt inputs and artifact rows, in one transaction. Refuses
  // with "run_active" while it is queued or running; not_found when unknown.
  // Never breaks another run: a step of another run served from the cache by
  // one of this run's steps inherits that step's artifact rows (the lowest-id
  // such step becomes their owner and loses its cached_from_step; the other
  // cached steps point at it), and an artifact row another run's attempt read
  // (attempt_inputs) is kept, detached (step and producer cleared). Stored
  // blobs are not touched: collect_garbage() frees those no row references.
  Result<DeleteReport> delete_run(int64_t run_id);
  // Removes stored artifacts (data_dir/artifacts/sha256/...) whose digest no
  // artifact row holds, and staging leftovers, when older than min_age_ms.
  // kDryRun reports what would go and removes nothing. Safe while the daemon
  // runs (put() refreshes a blob it reuses, so a fresh one is never taken).
  Result<GcReport> collect_garbage(ArtifactStore &artifacts, GcMode mode,
                                   int64_t min_age_ms = kGcGraceMs);
  // Deletes log lines older than `older_than_ms` (ts_ms, ms since the epoch)
  // of runs that are not queued or running. Returns how many went.
  Result<int64_t> prune_logs(int64_t older_than_ms);

  // ---- tokens and audit log (store_security.cpp) ----
  // A new active token; "conflict" when the name or hash is taken. Returns its id.
  Result<int64_t> create_token(const TokenRecord &token);
  // Marks the token `name` revoked; not_found when no active token has that name.
  Status revoke_token(const std::string &name);
  // Every token, revoked ones included, by name.
  Result<std::vector<TokenRecord>> list_tokens();
  // The active tokens only: what the API authenticates against.
  Result<std::vector<TokenRecord>> active_tokens();
  // Appends one audit record (blocking, durable when it returns).
  Status append_audit(const AuditRecord &record);
  // Newest first: records with id < before_id (every one when before_id is 0).
  Result<std::vector<AuditRecord>> list_audit(int limit, int64_t before_id);

  // ---- writer health ----
  // Detached writes (append_logs, append_metrics, set_step_progress) that
  // failed since open; each was also logged.
  uint64_t failed_writes() const;
  // Queue depth, high-water marks and counters of the writer.
  WriterStats writer_stats();

  // ---- reads ----
  Result<RunRecord> get_run(int64_t run_id);
  // Newest first. An empty `status` lists every run. Summaries: workflow_json
  // is left empty (get_run reads it); tags_json is filled.
  Result<std::vector<RunRecord>> list_runs(const std::optional<std::string> &status, int limit,
                                           int offset);
  Result<int64_t> count_runs(const std::optional<std::string> &status);
  // One page of the runs matching `search`, in its order; ties (equal
  // durations, and runs without one) newest first (id descending) in either
  // order. One SQL query: filter, count, order and page in SQLite.
  Result<RunPage> search_runs(const RunSearch &search);
  // Runs still "queued" or "running", oldest first: what a restarted daemon
  // resumes.
  Result<std::vector<RunRecord>> unfinished_runs();
  Result<StepRecord> get_step(int64_t step_id);
  // Ordered by position (topological order).
  Result<std::vector<StepRecord>> steps_of_run(int64_t run_id);
  Result<StepRecord> find_step(int64_t run_id, const std::string &name);
  // The most recent "succeeded" step with this cache key, if any: a cache hit.
  Result<std::optional<StepRecord>> find_cached_step(const std::string &cache_key);
  // Ordered by attempt number.
  Result<std::vector<AttemptRecord>> attempts_of_step(int64_t step_id);
  // Every attempt of the run's steps, by step id (steps without attempts are
  // absent), each step's in attempt-number order: one query where loading a run
  // or answering its detail used to ask once per step.
  Result<std::map<int64_t, std::vector<AttemptRecord>>> attempts_of_run(int64_t run_id);
  Result<AttemptRecord> get_attempt(int64_t attempt_id);
  // Ids of the attempts with status "running", ascending (crash recovery).
  Result<std::vector<int64_t>> running_attempts();
  // Logs with id > after_log_id, ascending id, at most `limit`.
  Result<std::vector<LogRecord>> logs_of_step(int64_t step_id, int64_t after_log_id, int limit);
  // Ordered by name, then iteration.
  Result<std::vector<MetricPoint>> metrics_of_step(int64_t step_id);
  // The step's metric curves, downsampled in the store: per name, ordered by
  // iteration, at most max_points points evenly strided over the series with
  // the first and last kept (index k * (n - 1) / (max_points - 1)); every
  // point when max_points < 2 or the series is short. Ordered by name, then
  // iteration. not_found when `attempts` names an attempt the step lacks.
  Result<std::vector<MetricPoint>> metric_series(int64_t step_id, const AttemptSelector &attempts,
                                                 int max_points);
  // The step's outputs: artifacts registered by the step itself or, for a
  // cached step, by the step it was served from; per output name the latest
  // registration. Ordered by output name.
  Result<std::vector<ArtifactRecord>> outputs_of_step(int64_t step_id);
  Result<ArtifactRecord> get_artifact(int64_t artifact_id);
  // Ordered by input name.
  Result<std::vector<AttemptInput>> inputs_of_attempt(int64_t attempt_id);
  // not_found when no descriptor is cached under that hash.
  Result<std::string> get_plugin_descriptor(const std::string &sha256);
  // The manifest stored with the run (NewRun::manifest_json); not_found when the
  // run is unknown or was created without one.
  Result<std::string> get_run_manifest(int64_t run_id);

 private:
  Store(std::string database_path, std::unique_ptr<Database> write_db,
        std::unique_ptr<ReaderPool> readers, const WriterLimits &limits);
  // The distinct digests artifact rows hold.
  Result<std::vector<std::string>> referenced_digests();

  std::string database_path_;
  std::unique_ptr<Database> write_db_;  // used only by writer_'s thread
  std::unique_ptr<StoreWriter> writer_;
  std::unique_ptr<ReaderPool> readers_;
};

}  // namespace radflow::storage
