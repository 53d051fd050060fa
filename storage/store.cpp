// Store: opening the database and the write half of the API. Every write is a
// job for the writer thread; reads live in store_queries.cpp.
#include "storage/store.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "storage/database.h"
#include "storage/migrations.h"
#include "storage/not_found.h"
#include "storage/reader_pool.h"
#include "storage/store_writer.h"

namespace radflow::storage {

namespace {

bool is_terminal(const std::string &status) {
  static const std::set<std::string> kTerminal = {"succeeded", "failed", "cancelled",
                                                  "cached",    "lost",   "skipped"};
  return kTerminal.count(status) > 0;
}

// Settings every connection needs; journal_mode is persistent, the rest are
// not.
Status configure(Database &db, const StoreOptions &options) {
  RF_RETURN_IF_ERROR(db.exec("PRAGMA busy_timeout = " + std::to_string(options.busy_timeout_ms),
                             "set busy timeout"));
  RF_RETURN_IF_ERROR(db.exec("PRAGMA foreign_keys = ON", "enable foreign keys"));
  return db.exec(options.durability == Durability::kFull ? "PRAGMA synchronous = FULL"
                                                         : "PRAGMA synchronous = NORMAL",
                 "set synchronous mode");
}

// PRAGMA quick_check before anything else touches the file: a damaged
// database refused at open is better than one that fails (or loses rows)
// mid-run.
Status check_integrity(Database &db, const std::string &path) {
  auto damaged = [&](const std::string &what) {
    return Status::error(
        "storage_error",
        "database " + path + " is damaged (" + what +
            "); radflow will not use it. Stop radflowd, then restore radflow.db from a backup, "
            "or move radflow.db, radflow.db-wal and radflow.db-shm aside to start with an empty "
            "database (its runs are then no longer listed)");
  };
  auto stmt = db.prepare("PRAGMA quick_check(5)", "check database integrity");
  if (!stmt.ok()) return damaged(stmt.status().message());
  std::string problems;
  while (true) {
    Result<bool> row = stmt->step();
    if (!row.ok()) return damaged(row.status().message());
    if (!*row) break;
    const std::string line = stmt->column_text(0);
    if (line == "ok") continue;
    problems += (problems.empty() ? "" : "; ") + line;
  }
  return problems.empty() ? Status() : damaged("quick_check: " + problems);
}

// Turns "UPDATE ... WHERE id = ?" touching nothing into not_found.
Result<int64_t> updated_or_not_found(Database &db, Status status, const std::string &what,
                                     int64_t id) {
  RF_RETURN_IF_ERROR(status);
  if (db.changes() == 0) return not_found(what, id);
  return int64_t{0};
}

Status as_status(const Result<int64_t> &result) { return result.status(); }

// The workflow's "tags" array as JSON text, "[]" when it has none.
std::string tags_of(const std::string &workflow_json) {
  nlohmann::json workflow = nlohmann::json::parse(workflow_json, nullptr, false);
  if (workflow.is_object() && workflow.contains("tags") && workflow["tags"].is_array()) {
    return workflow["tags"].dump();
  }
  return "[]";
}

Result<int64_t> write_step_status(Database &db, int64_t step_id, const StepStatusChange &change) {
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      db.prepare("UPDATE steps SET status = ?1, reason = ?2, message = ?3, "
                                 "started_ms = CASE WHEN ?1 = 'running' AND started_ms IS "
                                 "NULL THEN ?4 "
                                 "ELSE started_ms END, "
                                 "finished_ms = CASE WHEN ?5 THEN ?4 ELSE finished_ms END "
                                 "WHERE id = ?6",
                                 "set step status"));
  Status ran = stmt.bind(1, change.status)
                   .bind(2, change.reason)
                   .bind(3, change.message)
                   .bind(4, now_ms())
                   .bind(5, is_terminal(change.status) ? 1 : 0)
                   .bind(6, step_id)
                   .run();
  return updated_or_not_found(db, ran, "step", step_id);
}

Result<int64_t> write_attempt_end(Database &db, int64_t attempt_id, const AttemptEnd &end) {
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      db.prepare("UPDATE attempts SET status = ?, reason = ?, message = ?, "
                                 "exit_code = ?, signal = ?, finished_ms = ? WHERE id = ?",
                                 "finish attempt"));
  Status ran = stmt.bind(1, end.status)
                   .bind(2, end.reason)
                   .bind(3, end.message)
                   .bind(4, end.exit_code)
                   .bind(5, end.signal)
                   .bind(6, end.finished_ms > 0 ? end.finished_ms : now_ms())
                   .bind(7, attempt_id)
                   .run();
  return updated_or_not_found(db, ran, "attempt", attempt_id);
}

// The (producer_attempt_id, output_name) unique index makes a second
// registration a no-op; the existing row answers it.
Result<int64_t> write_artifact(Database &db, const ArtifactRecord &artifact) {
  {
    RF_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare("INSERT INTO artifacts (digest, kind, size_bytes, created_ms, "
                                   "producer_attempt_id, step_id, output_name) "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                   "add artifact " + artifact.digest));
    stmt.bind(1, artifact.digest)
        .bind(2, artifact.kind)
        .bind(3, artifact.size_bytes)
        .bind(4, artifact.created_ms != 0 ? artifact.created_ms : now_ms())
        .bind_id(5, artifact.producer_attempt_id)
        .bind_id(6, artifact.step_id);
    if (artifact.output_name.empty()) {
      stmt.bind_null(7);
    } else {
      stmt.bind(7, artifact.output_name);
    }
    RF_RETURN_IF_ERROR(stmt.run());
    if (db.changes() > 0) return db.last_insert_rowid();
  }
  RF_ASSIGN_OR_RETURN(Statement existing,
                      db.prepare("SELECT id, digest FROM artifacts WHERE producer_attempt_id = ? "
                                 "AND output_name = ?",
                                 "find registered artifact " + artifact.output_name));
  existing.bind(1, artifact.producer_attempt_id).bind(2, artifact.output_name);
  RF_ASSIGN_OR_RETURN(bool row, existing.step());
  if (!row) return Status::error("storage_error", "add artifact " + artifact.digest + ": not stored");
  if (existing.column_text(1) != artifact.digest) {
    return Status::error("conflict", "attempt " + std::to_string(artifact.producer_attempt_id) +
                                         " already registered output " + artifact.output_name +
                                         " as " + existing.column_text(1) + ", not " +
                                         artifact.digest);
  }
  return existing.column_int64(0);
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string &data_dir) {
  return open(data_dir, StoreOptions{});
}

Result<std::unique_ptr<Store>> Store::open(const std::string &data_dir,
                                           const StoreOptions &options) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec)
    return Status::error("storage_error", "create data dir " + data_dir + ": " + ec.message());
  const std::string path = (std::filesystem::path(data_dir) / "radflow.db").string();

  RF_ASSIGN_OR_RETURN(std::unique_ptr<Database> write_db,
                      Database::open(path, Database::Mode::kReadWrite));
  RF_RETURN_IF_ERROR(check_integrity(*write_db, path));
  RF_RETURN_IF_ERROR(configure(*write_db, options));
  RF_ASSIGN_OR_RETURN(std::string journal,
                      write_db->query_text("PRAGMA journal_mode = WAL", "enable WAL"));
  if (journal != "wal") {
    return Status::error("storage_error", "enable WAL: journal mode stayed " + journal);
  }
  RF_RETURN_IF_ERROR(migrate(*write_db));

  // Readers open read-write (WAL readers need the shared-memory index) but
  // query_only, so a bug cannot write behind the writer thread's back.
  if (options.read_connections < 1) {
    return Status::error("invalid_argument", "read_connections must be at least 1, not " +
                                                 std::to_string(options.read_connections));
  }
  std::vector<std::unique_ptr<Database>> readers;
  for (int i = 0; i < options.read_connections; ++i) {
    RF_ASSIGN_OR_RETURN(std::unique_ptr<Database> read_db,
                        Database::open(path, Database::Mode::kReadWrite));
    RF_RETURN_IF_ERROR(configure(*read_db, options));
    RF_RETURN_IF_ERROR(read_db->exec("PRAGMA query_only = ON", "make reader query-only"));
    readers.push_back(std::move(read_db));
  }
  return std::unique_ptr<Store>(new Store(path, std::move(write_db),
                                          std::make_unique<ReaderPool>(std::move(readers)),
                                          options.writer_limits));
}

Store::Store(std::string database_path, std::unique_ptr<Database> write_db,
             std::unique_ptr<ReaderPool> readers, const WriterLimits &limits)
    : database_path_(std::move(database_path)),
      write_db_(std::move(write_db)),
      writer_(std::make_unique<StoreWriter>(write_db_.get(), limits)),
      readers_(std::move(readers)) {}

Store::~Store() = default;  // writer_ drains and joins before write_db_ closes

uint64_t Store::failed_writes() const { return writer_->failed_writes(); }

WriterStats Store::writer_stats() { return writer_->stats(); }

void Store::flush() { writer_->flush(); }

Result<int64_t> Store::create_run(const NewRun &run) {
  // The writer wraps the job in a savepoint, so a failure part-way (say a
  // duplicate step name) leaves no run row behind.
  const std::string tags = tags_of(run.workflow_json);
  return writer_->run([&run, &tags](Database &db) -> Result<int64_t> {
    const int64_t now = now_ms();
    RF_ASSIGN_OR_RETURN(Statement insert_run,
                        db.prepare("INSERT INTO runs (name, status, workflow_json, params_json, "
                                   "created_ms, message, submitted_by, tags_json) "
                                   "VALUES (?, 'queued', ?, ?, ?, '', ?, ?)",
                                   "insert run"));
    RF_RETURN_IF_ERROR(insert_run.bind(1, run.name)
                           .bind(2, run.workflow_json)
                           .bind(3, run.params_json)
                           .bind(4, now)
                           .bind(5, run.submitted_by)
                           .bind(6, tags)
                           .run());
    const int64_t run_id = db.last_insert_rowid();
    for (const NewStep &step : run.steps) {
      RF_ASSIGN_OR_RETURN(Statement insert_step,
                          db.prepare("INSERT INTO steps (run_id, name, plugin, plugin_version, "
                                     "params_json, "
                                     "resources_json, retries, timeout_s, cache, priority, "
                                     "position, plugin_sha256, status) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
                                     "insert step " + step.name));
      RF_RETURN_IF_ERROR(insert_step.bind(1, run_id)
                             .bind(2, step.name)
                             .bind(3, step.plugin)
                             .bind(4, step.plugin_version)
                             .bind(5, step.params_json)
                             .bind(6, step.resources_json)
                             .bind(7, step.retries)
                             .bind(8, step.timeout_s)
                             .bind(9, step.cache ? 1 : 0)
                             .bind(10, step.priority)
                             .bind(11, step.position)
                             .bind(12, step.plugin_sha256)
                             .run());
      const int64_t step_id = db.last_insert_rowid();
      for (const NewStepInput &input : step.inputs) {
        RF_ASSIGN_OR_RETURN(
            Statement insert_input,
            db.prepare("INSERT INTO step_inputs (step_id, input_name, "
                       "source_step_name, source_output) VALUES (?, ?, ?, ?)",
                       "insert input " + input.input_name + " of step " + step.name));
        RF_RETURN_IF_ERROR(insert_input.bind(1, step_id)
                               .bind(2, input.input_name)
                               .bind(3, input.source_step)
                               .bind(4, input.source_output)
                               .run());
      }
    }
    if (!run.manifest_json.empty()) {
      RF_ASSIGN_OR_RETURN(Statement insert_manifest,
                          db.prepare("INSERT INTO run_manifests (run_id, manifest_json, "
                                     "created_ms) VALUES (?, ?, ?)",
                                     "insert run manifest"));
      RF_RETURN_IF_ERROR(
          insert_manifest.bind(1, run_id).bind(2, run.manifest_json).bind(3, now).run());
    }
    return run_id;
  });
}

Status Store::set_run_status(int64_t run_id, const std::string &status,
                             const std::string &message) {
  return as_status(writer_->run([=](Database &db) -> Result<int64_t> {
    RF_ASSIGN_OR_RETURN(Statement stmt, db.prepare("UPDATE runs SET status = ?1, message = ?2, "
                                                   "started_ms = CASE WHEN ?1 = 'running' AND "
                                                   "started_ms IS NULL THEN ?3 "
                                                   "ELSE started_ms END, "
                                                   "finished_ms = CASE WHEN ?4 THEN ?3 ELSE "
                                                   "finished_ms END WHERE id = ?5",
                                                   "set run status"));
    Status ran = stmt.bind(1, status)
                     .bind(2, message)
                     .bind(3, now_ms())
                     .bind(4, is_terminal(status) ? 1 : 0)
                     .bind(5, run_id)
                     .run();
    return updated_or_not_found(db, ran, "run", run_id);
  }));
}

Status Store::set_step_status(int64_t step_id, const std::string &status, const std::string &reason,
                              const std::string &message) {
  StepStatusChange change{status, reason, message};
  return as_status(writer_->run(
      [=](Database &db) -> Result<int64_t> { return write_step_status(db, step_id, change); }));
}

void Store::set_step_progress(int64_t step_id, double fraction, const std::string &message) {
  writer_->submit_detached(
      [=](Database &db) -> Result<int64_t> {
        RF_ASSIGN_OR_RETURN(Statement stmt,
                            db.prepare("UPDATE steps SET progress = ?, progress_message = ? "
                                       "WHERE id = ?",
                                       "set step progress"));
        RF_RETURN_IF_ERROR(stmt.bind(1, fraction).bind(2, message).bind(3, step_id).run());
        return int64_t{0};
      },
      "set progress of step " + std::to_string(step_id));
}

Status Store::set_step_cache(int64_t step_id, const std::string &cache_key,
                             int64_t cached_from_step) {
  return as_status(writer_->run([=](Database &db) -> Result<int64_t> {
    RF_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare("UPDATE steps SET cache_key = ?, cached_from_step = ? "
                                   "WHERE id = ?",
                                   "set step cache"));
    Status ran = stmt.bind(1, cache_key).bind_id(2, cached_from_step).bind(3, step_id).run();
    return updated_or_not_found(db, ran, "step", step_id);
  }));
}

Result<int64_t> Store::create_attempt(int64_t step_id, int number, const std::string &devices) {
  return writer_->run([=](Database &db) -> Result<int64_t> {
    RF_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare("INSERT INTO attempts (step_id, number, status, devices, "
                                   "started_ms) VALUES (?, ?, 'running', ?, ?)",
                                   "create attempt"));
    RF_RETURN_IF_ERROR(
        stmt.bind(1, step_id).bind(2, number).bind(3, devices).bind(4, now_ms()).run());
    return db.last_insert_rowid();
  });
}

Status Store::set_attempt_pids(int64_t attempt_id, const std::vector<int64_t> &pids) {
  std::string pids_json = nlohmann::json(pids).dump();
  return as_status(writer_->run([=](Database &db) -> Result<int64_t> {
    RF_ASSIGN_OR_RETURN(Statement stmt, db.prepare("UPDATE attempts SET pids = ? WHERE id = ?",
                                                   "set attempt pids"));
    Status ran = stmt.bind(1, pids_json).bind(2, attempt_id).run();
    return updated_or_not_found(db, ran, "attempt", attempt_id);
  }));
}

Status Store::finish_attempt(int64_t attempt_id, const std::string &status,
                             const std::string &reason, const std::string &message,
                             std::optional<int> exit_code, std::optional<int> signal) {
  AttemptEnd end{status, reason, message, exit_code, signal};
  return as_status(writer_->run(
      [=](Database &db) -> Result<int64_t> { return write_attempt_end(db, attempt_id, end); }));
}

void Store::append_logs(std::vector<LogRecord> logs) {
  if (logs.empty()) return;
  auto shared = std::make_shared<std::vector<LogRecord>>(std::move(logs));
  writer_->submit_detached(
      [shared](Database &db) -> Result<int64_t> {
        for (const LogRecord &log : *shared) {
          RF_ASSIGN_OR_RETURN(Statement stmt,
                              db.prepare("INSERT INTO logs (step_id, attempt_id, ts_ms, level, "
                                         "stream, message) VALUES (?, ?, ?, ?, ?, ?)",
                                         "append log"));
          RF_RETURN_IF_ERROR(stmt.bind(1, log.step_id)
                                 .bind_id(2, log.attempt_id)
                                 .bind(3, log.ts_ms != 0 ? log.ts_ms : now_ms())
                                 .bind(4, log.level)
                                 .bind(5, log.stream)
                                 .bind(6, log.message)
                                 .run());
        }
        return int64_t{0};
      },
      "append " + std::to_string(shared->size()) + " logs", shared->size());
}

void Store::append_metrics(std::vector<MetricPoint> points) {
  if (points.empty()) return;
  auto shared = std::make_shared<std::vector<MetricPoint>>(std::move(points));
  writer_->submit_detached(
      [shared](Database &db) -> Result<int64_t> {
        // One statement for the whole batch: points come by the million, and the
        // SQL text, cache lookup and name copy per row cost almost half as much as
        // SQLite's insert itself.
        static const std::string kInsertMetric =
            "INSERT INTO metrics (step_id, attempt_id, name, iteration, value) "
            "VALUES (?, ?, ?, ?, ?)";
        RF_ASSIGN_OR_RETURN(Statement stmt, db.prepare(kInsertMetric, "append metric"));
        for (const MetricPoint &point : *shared) {
          RF_RETURN_IF_ERROR(stmt.reset()
                                 .bind(1, point.step_id)
                                 .bind_id(2, point.attempt_id)
                                 .bind_borrowed(3, point.name)  // *shared outlives stmt
                                 .bind(4, point.iteration)
                                 .bind(5, point.value)
                                 .run());
        }
        return int64_t{0};
      },
      "append " + std::to_string(shared->size()) + " metrics", shared->size());
}

Result<int64_t> Store::add_artifact(const ArtifactRecord &artifact) {
  return writer_->run(
      [artifact](Database &db) -> Result<int64_t> { return write_artifact(db, artifact); });
}

Status Store::add_attempt_input(int64_t attempt_id, const std::string &input_name,
                                int64_t artifact_id) {
  return as_status(writer_->run([=](Database &db) -> Result<int64_t> {
    RF_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare("INSERT OR REPLACE INTO attempt_inputs (attempt_id, "
                                   "input_name, artifact_id) VALUES (?, ?, ?)",
                                   "add attempt input " + input_name));
    RF_RETURN_IF_ERROR(stmt.bind(1, attempt_id).bind(2, input_name).bind(3, artifact_id).run());
    return int64_t{0};
  }));
}

Status Store::put_plugin_descriptor(const std::string &sha256, const std::string &descriptor_json) {
  return as_status(writer_->run([=](Database &db) -> Result<int64_t> {
    RF_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare("INSERT OR REPLACE INTO plugin_descriptors (sha256, "
                                   "descriptor_json, created_ms) VALUES (?, ?, ?)",
                                   "cache plugin descriptor"));
    RF_RETURN_IF_ERROR(stmt.bind(1, sha256).bind(2, descriptor_json).bind(3, now_ms()).run());
    return int64_t{0};
  }));
}

Result<std::vector<int64_t>> Store::mark_lost_attempts(const std::set<int64_t> &keep_running) {
  auto lost = std::make_shared<std::vector<int64_t>>();
  Result<int64_t> done = writer_->run([lost, keep_running](Database &db) -> Result<int64_t> {
    lost->clear();
    {
      RF_ASSIGN_OR_RETURN(Statement select,
                          db.prepare("SELECT id FROM attempts WHERE status = 'running' "
                                     "ORDER BY id",
                                     "find running attempts"));
      while (true) {
        RF_ASSIGN_OR_RETURN(bool row, select.step());
        if (!row) break;
        if (keep_running.count(select.column_int64(0)) == 0) lost->push_back(select.column_int64(0));
      }
    }
    for (int64_t id : *lost) {
      RF_ASSIGN_OR_RETURN(Statement update,
                          db.prepare("UPDATE attempts SET status = 'lost', reason = 'lost', "
                                     "message = 'daemon restarted while the attempt ran', "
                                     "finished_ms = ? WHERE id = ?",
                                     "mark attempt lost"));
      RF_RETURN_IF_ERROR(update.bind(1, now_ms()).bind(2, id).run());
    }
    return static_cast<int64_t>(lost->size());
  });
  RF_RETURN_IF_ERROR(done.status());
  return std::move(*lost);
}

namespace {

// finish_attempt_with_outputs's rows, as one writer job that leaves the artifact
// ids in `ids`.
StoreWriter::Job finish_attempt_job(int64_t attempt_id, const AttemptEnd &end, int64_t step_id,
                                    const StepStatusChange &step,
                                    const std::vector<ArtifactRecord> &outputs,
                                    std::shared_ptr<std::vector<int64_t>> ids) {
  return [=](Database &db) -> Result<int64_t> {
    ids->clear();
    RF_RETURN_IF_ERROR(write_attempt_end(db, attempt_id, end).status());
    for (ArtifactRecord artifact : outputs) {
      if (artifact.producer_attempt_id == 0) artifact.producer_attempt_id = attempt_id;
      if (artifact.step_id == 0) artifact.step_id = step_id;
      RF_ASSIGN_OR_RETURN(int64_t id, write_artifact(db, artifact));
      ids->push_back(id);
    }
    RF_RETURN_IF_ERROR(write_step_status(db, step_id, step).status());
    return int64_t{0};
  };
}

}  // namespace

Result<std::vector<int64_t>> Store::finish_attempt_with_outputs(
    int64_t attempt_id, const AttemptEnd &end, int64_t step_id, const StepStatusChange &step,
    const std::vector<ArtifactRecord> &outputs) {
  auto ids = std::make_shared<std::vector<int64_t>>();
  Result<int64_t> done =
      writer_->run(finish_attempt_job(attempt_id, end, step_id, step, outputs, ids));
  RF_RETURN_IF_ERROR(done.status());
  return std::move(*ids);
}

void Store::finish_attempt_with_outputs_then(
    int64_t attempt_id, const AttemptEnd &end, int64_t step_id, const StepStatusChange &step,
    const std::vector<ArtifactRecord> &outputs,
    std::function<void(Result<std::vector<int64_t>>)> then) {
  auto ids = std::make_shared<std::vector<int64_t>>();
  writer_->submit_then(finish_attempt_job(attempt_id, end, step_id, step, outputs, ids),
                       [ids, then = std::move(then)](Result<int64_t> done) {
                         if (!done.ok()) {
                           then(done.status());
                         } else {
                           then(std::move(*ids));
                         }
                       });
}

Result<int64_t> Store::begin_attempt(const AttemptStart &start) {
  return begin_attempt_async(start).get();
}

std::future<Result<int64_t>> Store::begin_attempt_async(const AttemptStart &start) {
  return writer_->submit([=](Database &db) -> Result<int64_t> {
    RF_ASSIGN_OR_RETURN(Statement insert,
                        db.prepare("INSERT INTO attempts (step_id, number, status, devices, "
                                   "started_ms) VALUES (?, ?, 'running', ?, ?)",
                                   "create attempt"));
    RF_RETURN_IF_ERROR(insert.bind(1, start.step_id)
                           .bind(2, start.number)
                           .bind(3, start.devices)
                           .bind(4, now_ms())
                           .run());
    const int64_t attempt_id = db.last_insert_rowid();
    for (const auto &[name, artifact_id] : start.inputs) {
      RF_ASSIGN_OR_RETURN(Statement input,
                          db.prepare("INSERT OR REPLACE INTO attempt_inputs (attempt_id, "
                                     "input_name, artifact_id) VALUES (?, ?, ?)",
                                     "add attempt input " + name));
      RF_RETURN_IF_ERROR(input.bind(1, attempt_id).bind(2, name).bind(3, artifact_id).run());
    }
    return attempt_id;
  });
}

namespace {

// attempt_running's rows, as one writer job.
StoreWriter::Job attempt_running_job(const Store::AttemptRunning &running) {
  const std::string pids_json = nlohmann::json(running.pids).dump();
  return [=](Database &db) -> Result<int64_t> {
    RF_ASSIGN_OR_RETURN(Statement pids, db.prepare("UPDATE attempts SET pids = ? WHERE id = ?",
                                                   "set attempt pids"));
    Status ran = pids.bind(1, pids_json).bind(2, running.attempt_id).run();
    RF_RETURN_IF_ERROR(updated_or_not_found(db, ran, "attempt", running.attempt_id).status());
    if (running.start_run) {
      RF_ASSIGN_OR_RETURN(Statement run,
                          db.prepare("UPDATE runs SET status = 'running', message = '', "
                                     "started_ms = COALESCE(started_ms, ?) WHERE id = ?",
                                     "set run status"));
      ran = run.bind(1, now_ms()).bind(2, running.run_id).run();
      RF_RETURN_IF_ERROR(updated_or_not_found(db, ran, "run", running.run_id).status());
    }
    return write_step_status(db, running.step_id, {"running", "", ""});
  };
}

}  // namespace

Status Store::attempt_running(const AttemptRunning &running) {
  return as_status(writer_->run(attempt_running_job(running)));
}

void Store::attempt_running_then(const AttemptRunning &running,
                                 std::function<void(Status)> then) {
  writer_->submit_then(attempt_running_job(running),
                       [then = std::move(then)](Result<int64_t> done) { then(as_status(done)); });
}

Status Store::requeue_steps(int64_t run_id, const std::vector<int64_t> &step_ids,
                            const std::string &reason, const std::string &message) {
  return as_status(writer_->run([=](Database &db) -> Result<int64_t> {
    for (int64_t step_id : step_ids) {
      RF_ASSIGN_OR_RETURN(Statement stmt,
                          db.prepare("UPDATE steps SET status = 'queued', reason = ?, "
                                     "message = ?, finished_ms = NULL, progress = 0, "
                                     "progress_message = '' WHERE id = ? AND run_id = ?",
                                     "requeue step"));
      Status ran = stmt.bind(1, reason).bind(2, message).bind(3, step_id).bind(4, run_id).run();
      RF_RETURN_IF_ERROR(updated_or_not_found(db, ran, "step", step_id).status());
    }
    RF_ASSIGN_OR_RETURN(Statement run,
                        db.prepare("UPDATE runs SET status = 'running', message = ?, "
                                   "started_ms = IFNULL(started_ms, ?), finished_ms = NULL, "
                                   "cancel_requested = 0 WHERE id = ?",
                                   "requeue run"));
    Status ran = run.bind(1, message).bind(2, now_ms()).bind(3, run_id).run();
    return updated_or_not_found(db, ran, "run", run_id);
  }));
}

Status Store::record_cancel_request(int64_t run_id) {
  return as_status(writer_->run([=](Database &db) -> Result<int64_t> {
    RF_ASSIGN_OR_RETURN(Statement stmt,
                        db.prepare("UPDATE runs SET cancel_requested = 1 WHERE id = ?",
                                   "record cancel request"));
    Status ran = stmt.bind(1, run_id).run();
    return updated_or_not_found(db, ran, "run", run_id);
  }));
}

}  // namespace radflow::storage
