// Store: radflow's typed access to its SQLite database (data_dir/radflow.db):
// runs, steps, attempts, logs, metrics, artifacts, lineage and the plugin
// descriptor cache.
//
// Writes all go through one writer thread (see store_writer.h), which commits
// whatever is queued in one transaction. Methods returning Status or Result
// block until their write committed, so a read on any thread afterwards sees
// it. append_logs, append_metrics and set_step_progress return at once (their
// failures are logged); flush() waits for them. Reads use a separate connection
// guarded by a mutex; WAL mode gives them a consistent snapshot while the
// writer works.
//
// Thread-safe: any thread may call any method. The destructor commits
// everything queued before it returns. Errors: sqlite failures are
// "storage_error" (naming what the SQL was for); missing rows are "not_found"
// ("run 7 not found").
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/records.h"

namespace radflow::storage {

class Database;
class StoreWriter;

class Store {
 public:
  // Creates data_dir when missing, opens (creating) data_dir/radflow.db, sets
  // WAL, synchronous=NORMAL, foreign keys and a busy timeout, and migrates the
  // schema.
  static Result<std::unique_ptr<Store>> open(const std::string &data_dir);
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
  // repeat).
  Result<int64_t> add_artifact(const ArtifactRecord &artifact);
  Status add_attempt_input(int64_t attempt_id, const std::string &input_name, int64_t artifact_id);
  Status put_plugin_descriptor(const std::string &sha256, const std::string &descriptor_json);
  // Crash recovery: every attempt still "running" becomes "lost" (reason
  // "lost"). Returns their ids, ascending.
  Result<std::vector<int64_t>> mark_lost_attempts();
  // Blocks until every write queued before the call has committed.
  void flush();

  // ---- reads ----
  Result<RunRecord> get_run(int64_t run_id);
  // Newest first. An empty `status` lists every run.
  Result<std::vector<RunRecord>> list_runs(const std::optional<std::string> &status, int limit,
                                           int offset);
  Result<int64_t> count_runs(const std::optional<std::string> &status);
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
  Result<AttemptRecord> get_attempt(int64_t attempt_id);
  // Logs with id > after_log_id, ascending id, at most `limit`.
  Result<std::vector<LogRecord>> logs_of_step(int64_t step_id, int64_t after_log_id, int limit);
  // Ordered by name, then iteration.
  Result<std::vector<MetricPoint>> metrics_of_step(int64_t step_id);
  // The step's outputs: artifacts registered by the step itself or, for a
  // cached step, by the step it was served from; per output name the latest
  // registration. Ordered by output name.
  Result<std::vector<ArtifactRecord>> outputs_of_step(int64_t step_id);
  Result<ArtifactRecord> get_artifact(int64_t artifact_id);
  // Ordered by input name.
  Result<std::vector<AttemptInput>> inputs_of_attempt(int64_t attempt_id);
  // not_found when no descriptor is cached under that hash.
  Result<std::string> get_plugin_descriptor(const std::string &sha256);

 private:
  Store(std::string database_path, std::unique_ptr<Database> write_db,
        std::unique_ptr<Database> read_db);

  std::string database_path_;
  std::unique_ptr<Database> write_db_;  // used only by writer_'s thread
  std::unique_ptr<StoreWriter> writer_;
  std::mutex read_mu_;  // guards read_db_
  std::unique_ptr<Database> read_db_;
};

}  // namespace radflow::storage
