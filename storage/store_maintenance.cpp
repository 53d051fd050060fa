// Store: deleting runs, garbage-collecting the artifact store and pruning
// old logs. Each database change is one writer job, so one transaction.
#include <memory>

#include "storage/artifact_store.h"
#include "storage/database.h"
#include "storage/store.h"
#include "storage/store_writer.h"

namespace radflow::storage {

namespace {

// The run's steps and their attempts, as SQL sets bound to ?1 = run id.
constexpr const char *kRunSteps = "(SELECT id FROM steps WHERE run_id = ?1)";
constexpr const char *kRunAttempts =
    "(SELECT id FROM attempts WHERE step_id IN (SELECT id FROM steps WHERE run_id = ?1))";

// Runs `sql` with ?1 = id; returns the rows it changed.
Result<int64_t> change(Database &db, const std::string &sql, const std::string &purpose,
                       int64_t id) {
  RF_ASSIGN_OR_RETURN(Statement stmt, db.prepare(sql, purpose));
  RF_RETURN_IF_ERROR(stmt.bind(1, id).run());
  return static_cast<int64_t>(db.changes());
}

// The first column of each row of `sql` with ?1 = id.
template <typename T>
Result<std::vector<T>> column(Database &db, const std::string &sql, const std::string &purpose,
                              int64_t id) {
  RF_ASSIGN_OR_RETURN(Statement stmt, db.prepare(sql, purpose));
  stmt.bind(1, id);
  std::vector<T> values;
  while (true) {
    RF_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) return values;
    if constexpr (std::is_same_v<T, std::string>) {
      values.push_back(stmt.column_text(0));
    } else {
      values.push_back(stmt.column_int64(0));
    }
  }
}

Result<int64_t> count(Database &db, const std::string &sql, const std::string &purpose,
                      int64_t id) {
  RF_ASSIGN_OR_RETURN(std::vector<int64_t> values, column<int64_t>(db, sql, purpose, id));
  return values.empty() ? 0 : values.front();
}

// A step of another run served from the cache by one of this run's steps
// inherits its artifact rows; the other cached copies point at that heir.
Result<int64_t> rehome_cached_outputs(Database &db, int64_t run_id) {
  RF_ASSIGN_OR_RETURN(std::vector<int64_t> sources,
                      column<int64_t>(db,
                                      "SELECT DISTINCT cached_from_step FROM steps WHERE "
                                      "run_id <> ?1 AND cached_from_step IN " +
                                          std::string(kRunSteps),
                                      "find cached copies of the run's steps", run_id));
  int64_t moved = 0;
  for (int64_t source : sources) {
    RF_ASSIGN_OR_RETURN(Statement pick, db.prepare("SELECT MIN(id) FROM steps WHERE "
                                                   "cached_from_step = ? AND run_id <> ?",
                                                   "pick heir of cached step"));
    RF_RETURN_IF_ERROR(pick.bind(1, source).bind(2, run_id).step().status());
    const int64_t heir = pick.column_int64(0);
    RF_ASSIGN_OR_RETURN(Statement outputs,
                        db.prepare("UPDATE artifacts SET step_id = ?1, producer_attempt_id = NULL "
                                   "WHERE step_id = ?2",
                                   "re-home cached outputs"));
    RF_RETURN_IF_ERROR(outputs.bind(1, heir).bind(2, source).run());
    moved += db.changes();
    RF_ASSIGN_OR_RETURN(Statement copies,
                        db.prepare("UPDATE steps SET cached_from_step = CASE WHEN id = ?1 THEN "
                                   "NULL ELSE ?1 END WHERE cached_from_step = ?2",
                                   "point cached copies at the heir"));
    RF_RETURN_IF_ERROR(copies.bind(1, heir).bind(2, source).run());
  }
  return moved;
}

Result<DeleteReport> delete_run_rows(Database &db, int64_t run_id) {
  DeleteReport report;
  report.run_id = run_id;
  RF_ASSIGN_OR_RETURN(std::vector<std::string> status,
                      column<std::string>(db, "SELECT status FROM runs WHERE id = ?1",
                                          "read run status", run_id));
  if (status.empty()) {
    return Status::error("not_found", "run " + std::to_string(run_id) + " not found");
  }
  if (status.front() == "queued" || status.front() == "running") {
    return Status::error("run_active", "run " + std::to_string(run_id) + " is " +
                                           status.front() + ": cancel it before deleting it");
  }
  const std::string steps = kRunSteps, attempts = kRunAttempts;
  RF_ASSIGN_OR_RETURN(report.steps, count(db, "SELECT COUNT(*) FROM " + steps + " AS s",
                                          "count steps of run", run_id));
  RF_ASSIGN_OR_RETURN(report.attempts, count(db, "SELECT COUNT(*) FROM " + attempts + " AS a",
                                             "count attempts of run", run_id));
  RF_ASSIGN_OR_RETURN(report.logs, count(db, "SELECT COUNT(*) FROM logs WHERE step_id IN " + steps,
                                         "count logs of run", run_id));
  RF_ASSIGN_OR_RETURN(report.metrics,
                      count(db, "SELECT COUNT(*) FROM metrics WHERE step_id IN " + steps,
                            "count metrics of run", run_id));

  RF_ASSIGN_OR_RETURN(int64_t rehomed, rehome_cached_outputs(db, run_id));
  const std::string owned = "(step_id IN " + steps + " OR producer_attempt_id IN " + attempts + ")";
  // Lineage of other runs: what their attempts read stays, detached.
  RF_ASSIGN_OR_RETURN(int64_t detached,
                      change(db,
                             "UPDATE artifacts SET step_id = NULL, producer_attempt_id = NULL "
                             "WHERE " + owned +
                                 " AND id IN (SELECT artifact_id FROM attempt_inputs "
                                 "WHERE attempt_id NOT IN " + attempts + ")",
                             "keep artifacts other runs read", run_id));
  report.artifacts_kept = rehomed + detached;
  RF_ASSIGN_OR_RETURN(std::vector<std::string> digests,
                      column<std::string>(db, "SELECT DISTINCT digest FROM artifacts WHERE " +
                                                  owned + " ORDER BY digest",
                                          "read digests of run", run_id));
  RF_RETURN_IF_ERROR(change(db, "DELETE FROM attempt_inputs WHERE attempt_id IN " + attempts,
                            "delete lineage of run", run_id)
                         .status());
  RF_ASSIGN_OR_RETURN(report.artifacts_deleted,
                      change(db, "DELETE FROM artifacts WHERE " + owned,
                             "delete artifacts of run", run_id));
  // Steps, step inputs, attempts, logs and metrics go by ON DELETE CASCADE.
  RF_RETURN_IF_ERROR(change(db, "DELETE FROM runs WHERE id = ?1", "delete run", run_id).status());
  for (const std::string &digest : digests) {
    RF_ASSIGN_OR_RETURN(Statement left, db.prepare("SELECT 1 FROM artifacts WHERE digest = ? "
                                                   "LIMIT 1",
                                                   "count references to digest"));
    RF_ASSIGN_OR_RETURN(bool referenced, left.bind(1, digest).step());
    if (!referenced) report.released_digests.push_back(digest);
  }
  return report;
}

}  // namespace

Result<DeleteReport> Store::delete_run(int64_t run_id) {
  auto report = std::make_shared<DeleteReport>();
  Result<int64_t> done = writer_->run([run_id, report](Database &db) -> Result<int64_t> {
    RF_ASSIGN_OR_RETURN(*report, delete_run_rows(db, run_id));
    return int64_t{0};
  });
  RF_RETURN_IF_ERROR(done.status());
  return std::move(*report);
}

Result<GcReport> Store::collect_garbage(ArtifactStore &artifacts, GcMode mode,
                                        int64_t min_age_ms) {
  flush();  // rows queued before the call count as references
  RF_ASSIGN_OR_RETURN(std::vector<std::string> referenced, referenced_digests());
  return artifacts.collect_unreferenced(referenced, mode, min_age_ms);
}

Result<int64_t> Store::prune_logs(int64_t older_than_ms) {
  return writer_->run([older_than_ms](Database &db) -> Result<int64_t> {
    return change(db,
                  "DELETE FROM logs WHERE ts_ms < ?1 AND step_id IN (SELECT s.id FROM steps s "
                  "JOIN runs r ON r.id = s.run_id WHERE r.status NOT IN ('queued', 'running'))",
                  "prune logs", older_than_ms);
  });
}

}  // namespace radflow::storage
