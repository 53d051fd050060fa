// Store: the read half of the API. Each read borrows a connection of the
// reader pool (readers_) for its statements; each query runs in its own
// implicit read transaction, so it sees one committed snapshot even while the
// writer thread is mid-batch.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/database.h"
#include "storage/not_found.h"
#include "storage/reader_pool.h"
#include "storage/run_filter.h"
#include "storage/store.h"

namespace radflow::storage {

namespace {

const char *const kRunColumns =
    "SELECT id, name, status, workflow_json, params_json, created_ms, "
    "started_ms, finished_ms, "
    "message, submitted_by, tags_json, cancel_requested FROM runs ";
// Run lists leave the submitted workflow (the largest column) unread.
const char *const kRunSummaryList =
    "id, name, status, '' AS workflow_json, params_json, created_ms, "
    "started_ms, finished_ms, "
    "message, submitted_by, tags_json, cancel_requested ";
const std::string kRunSummaryColumns = std::string("SELECT ") + kRunSummaryList + "FROM runs ";

RunRecord read_run(const Statement &s) {
  RunRecord run;
  run.id = s.column_int64(0);
  run.name = s.column_text(1);
  run.status = s.column_text(2);
  run.workflow_json = s.column_text(3);
  run.params_json = s.column_text(4);
  run.created_ms = s.column_int64(5);
  run.started_ms = s.column_int64(6);  // NULL reads as 0: "not yet"
  run.finished_ms = s.column_int64(7);
  run.message = s.column_text(8);
  run.submitted_by = s.column_text(9);
  run.tags_json = s.column_text(10);
  run.cancel_requested = s.column_int64(11) != 0;
  return run;
}

const char *const kStepColumns =
    "SELECT id, run_id, name, plugin, plugin_version, params_json, "
    "resources_json, retries, "
    "timeout_s, cache, priority, position, status, reason, message, progress, "
    "progress_message, "
    "cache_key, cached_from_step, started_ms, finished_ms, plugin_sha256 FROM steps ";

StepRecord read_step(const Statement &s) {
  StepRecord step;
  step.id = s.column_int64(0);
  step.run_id = s.column_int64(1);
  step.name = s.column_text(2);
  step.plugin = s.column_text(3);
  step.plugin_version = s.column_text(4);
  step.plugin_sha256 = s.column_text(21);
  step.params_json = s.column_text(5);
  step.resources_json = s.column_text(6);
  step.retries = static_cast<int>(s.column_int64(7));
  step.timeout_s = s.column_double(8);
  step.cache = s.column_int64(9) != 0;
  step.priority = static_cast<int>(s.column_int64(10));
  step.position = static_cast<int>(s.column_int64(11));
  step.status = s.column_text(12);
  step.reason = s.column_text(13);
  step.message = s.column_text(14);
  step.progress = s.column_double(15);
  step.progress_message = s.column_text(16);
  step.cache_key = s.column_text(17);
  step.cached_from_step = s.column_int64(18);
  step.started_ms = s.column_int64(19);
  step.finished_ms = s.column_int64(20);
  return step;
}

const char *const kAttemptColumns =
    "SELECT id, step_id, number, status, reason, message, exit_code, signal, "
    "pids, devices, "
    "started_ms, finished_ms FROM attempts ";

AttemptRecord read_attempt(const Statement &s) {
  AttemptRecord attempt;
  attempt.id = s.column_int64(0);
  attempt.step_id = s.column_int64(1);
  attempt.number = static_cast<int>(s.column_int64(2));
  attempt.status = s.column_text(3);
  attempt.reason = s.column_text(4);
  attempt.message = s.column_text(5);
  attempt.exit_code = s.column_optional_int(6);
  attempt.signal = s.column_optional_int(7);
  // Written by set_attempt_pids only; a malformed value reads as no pids.
  nlohmann::json pids = nlohmann::json::parse(s.column_text(8), nullptr,
                                              /*allow_exceptions=*/false);
  if (pids.is_array()) {
    for (const auto &pid : pids) {
      if (pid.is_number_integer()) attempt.pids.push_back(pid.get<int64_t>());
    }
  }
  attempt.devices = s.column_text(9);
  attempt.started_ms = s.column_int64(10);
  attempt.finished_ms = s.column_int64(11);
  return attempt;
}

MetricPoint read_metric(const Statement &s) {
  return MetricPoint{s.column_int64(0), s.column_int64(1), s.column_text(2), s.column_int64(3),
                     s.column_double(4)};  // NULL (a stored NaN) reads back as NaN
}

const char *const kArtifactColumns =
    "SELECT id, digest, kind, size_bytes, created_ms, producer_attempt_id, "
    "step_id, output_name "
    "FROM artifacts ";

ArtifactRecord read_artifact(const Statement &s, int first = 0) {
  ArtifactRecord artifact;
  artifact.id = s.column_int64(first + 0);
  artifact.digest = s.column_text(first + 1);
  artifact.kind = s.column_text(first + 2);
  artifact.size_bytes = s.column_int64(first + 3);
  artifact.created_ms = s.column_int64(first + 4);
  artifact.producer_attempt_id = s.column_int64(first + 5);
  artifact.step_id = s.column_int64(first + 6);
  artifact.output_name = s.column_text(first + 7);
  return artifact;
}

Status fill_inputs(Database &db, StepRecord &step) {
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      db.prepare("SELECT input_name, source_step_name, source_output "
                                 "FROM step_inputs WHERE step_id = ? ORDER BY input_name",
                                 "read step inputs"));
  stmt.bind(1, step.id);
  RF_ASSIGN_OR_RETURN(step.inputs, collect<NewStepInput>(stmt, [](const Statement &s) {
                        return NewStepInput{s.column_text(0), s.column_text(1), s.column_text(2)};
                      }));
  return Status();
}

// Steps matching `where` (bound by `bind`), each with its inputs.
Result<std::vector<StepRecord>> query_steps(Database &db, const std::string &where,
                                            const std::function<void(Statement &)> &bind,
                                            const std::string &purpose) {
  std::vector<StepRecord> steps;
  {
    RF_ASSIGN_OR_RETURN(Statement stmt, db.prepare(kStepColumns + where, purpose));
    bind(stmt);
    RF_ASSIGN_OR_RETURN(steps, collect<StepRecord>(stmt, read_step));
  }
  for (StepRecord &step : steps) RF_RETURN_IF_ERROR(fill_inputs(db, step));
  return steps;
}

}  // namespace

Result<RunRecord> Store::get_run(int64_t run_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare(std::string(kRunColumns) + "WHERE id = ?", "read run"));
  stmt.bind(1, run_id);
  RF_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return not_found("run", run_id);
  return read_run(stmt);
}

namespace {

// COUNT(*) over the runs `filter` matches; without a filter SQLite counts the
// entries of an index instead of testing every row (run_filter.h).
Result<int64_t> count_matching_runs(Database &db, const RunFilterSql &filter) {
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      db.prepare("SELECT COUNT(*) FROM runs " + filter.where(), "count runs"));
  filter.bind(stmt);
  RF_ASSIGN_OR_RETURN(bool row, stmt.step());
  (void)row;  // COUNT(*) always yields a row
  return stmt.column_int64(0);
}

}  // namespace

Result<std::vector<RunRecord>> Store::list_runs(const std::optional<std::string> &status, int limit,
                                                int offset) {
  ReaderPool::Lease read_db = readers_->borrow();
  const RunFilterSql filter(RunFilter{status, {}, {}});
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare(kRunSummaryColumns + filter.where() + "ORDER BY id DESC " +
                                           filter.page_clause(),
                                       "list runs"));
  filter.bind(stmt);
  filter.bind_page(stmt, limit, offset);
  return collect<RunRecord>(stmt, read_run);
}

Result<int64_t> Store::count_runs(const std::optional<std::string> &status) {
  ReaderPool::Lease read_db = readers_->borrow();
  return count_matching_runs(*read_db, RunFilterSql(RunFilter{status, {}, {}}));
}

namespace {

// Over the columns id and duration_ms; ties newest first.
const char *run_search_order(const RunSearch &search) {
  const bool asc = search.order == SortOrder::kAscending;
  if (search.sort == RunSortKey::kDuration) {
    return asc ? "ORDER BY duration_ms IS NULL, duration_ms ASC, id DESC "
               : "ORDER BY duration_ms IS NULL, duration_ms DESC, id DESC ";
  }
  return asc ? "ORDER BY id ASC " : "ORDER BY id DESC ";
}

}  // namespace

Result<RunPage> Store::search_runs(const RunSearch &search) {
  ReaderPool::Lease read_db = readers_->borrow();
  ReaderPool::Snapshot snapshot(*read_db);
  RF_RETURN_IF_ERROR(snapshot.status());
  const std::string order = run_search_order(search);
  // The page: filter and order over (id, duration) only, then read the page's
  // rows. The total, measured at 10,000 runs (duration order): without text a
  // COUNT of its own reads an index alone, and without any filter counts its
  // entries (page + count 6.4 ms, against 7.7 ms for a window over the matches,
  // which sorts all of them); with text the filter is a scan of every row, so
  // one pass with the window wins (4.9 ms, against 10.7 ms for two scans).
  const bool window_total = !search.text.empty();
  const RunFilterSql filter(RunFilter{search.status, search.workflow, search.text});
  RF_ASSIGN_OR_RETURN(
      Statement stmt,
      read_db->prepare(
          std::string("WITH matched AS (SELECT id, CASE WHEN started_ms > 0 AND finished_ms >= "
                      "started_ms THEN finished_ms - started_ms END AS duration_ms FROM runs ") +
              filter.where() + "), page AS (SELECT id, duration_ms" +
              (window_total ? ", COUNT(*) OVER () AS total" : ", 0 AS total") + " FROM matched " +
              order + filter.page_clause() + ") SELECT " + kRunSummaryList +
              ", total FROM page JOIN runs USING (id) " + order,
          "search runs"));
  filter.bind(stmt);
  filter.bind_page(stmt, search.limit, search.offset);
  RunPage page;
  for (;;) {
    RF_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    page.runs.push_back(read_run(stmt));
    page.total = stmt.column_int64(12);
  }
  // A page past the end has no row to carry the window's count.
  if (!window_total || page.runs.empty()) {
    RF_ASSIGN_OR_RETURN(page.total, count_matching_runs(*read_db, filter));
  }
  return page;
}

Result<std::vector<RunRecord>> Store::unfinished_runs() {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare(std::string(kRunColumns) +
                                            "WHERE status IN ('queued', 'running') ORDER BY id",
                                        "list unfinished runs"));
  return collect<RunRecord>(stmt, read_run);
}

Result<StepRecord> Store::get_step(int64_t step_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(
      std::vector<StepRecord> steps,
      query_steps(
          *read_db, "WHERE id = ?", [&](Statement &s) { s.bind(1, step_id); }, "read step"));
  if (steps.empty()) return not_found("step", step_id);
  return std::move(steps.front());
}

Result<std::vector<StepRecord>> Store::steps_of_run(int64_t run_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  return query_steps(
      *read_db, "WHERE run_id = ? ORDER BY position, id", [&](Statement &s) { s.bind(1, run_id); },
      "read steps of run");
}

Result<StepRecord> Store::find_step(int64_t run_id, const std::string &name) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(std::vector<StepRecord> steps,
                      query_steps(
                          *read_db, "WHERE run_id = ? AND name = ?",
                          [&](Statement &s) { s.bind(1, run_id).bind(2, name); }, "find step"));
  if (steps.empty()) {
    return Status::error("not_found",
                         "step '" + name + "' not found in run " + std::to_string(run_id));
  }
  return std::move(steps.front());
}

Result<std::optional<StepRecord>> Store::find_cached_step(const std::string &cache_key) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(std::vector<StepRecord> steps,
                      query_steps(
                          *read_db,
                          "WHERE cache_key = ? AND status = 'succeeded' "
                          "ORDER BY id DESC LIMIT 1",
                          [&](Statement &s) { s.bind(1, cache_key); }, "find cached step"));
  if (steps.empty()) return std::optional<StepRecord>();
  return std::optional<StepRecord>(std::move(steps.front()));
}

Result<std::vector<AttemptRecord>> Store::attempts_of_step(int64_t step_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt, read_db->prepare(std::string(kAttemptColumns) +
                                                            "WHERE step_id = ? ORDER BY number, id",
                                                        "read attempts of step"));
  stmt.bind(1, step_id);
  return collect<AttemptRecord>(stmt, read_attempt);
}

Result<std::map<int64_t, std::vector<AttemptRecord>>> Store::attempts_of_run(int64_t run_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(
      Statement stmt,
      read_db->prepare(std::string(kAttemptColumns) +
                           "WHERE step_id IN (SELECT id FROM steps WHERE run_id = ?) "
                           "ORDER BY step_id, number, id",
                       "read attempts of run"));
  stmt.bind(1, run_id);
  RF_ASSIGN_OR_RETURN(std::vector<AttemptRecord> attempts, collect<AttemptRecord>(stmt, read_attempt));
  std::map<int64_t, std::vector<AttemptRecord>> by_step;
  for (auto &attempt : attempts) by_step[attempt.step_id].push_back(std::move(attempt));
  return by_step;
}

Result<AttemptRecord> Store::get_attempt(int64_t attempt_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(
      Statement stmt,
      read_db->prepare(std::string(kAttemptColumns) + "WHERE id = ?", "read attempt"));
  stmt.bind(1, attempt_id);
  RF_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return not_found("attempt", attempt_id);
  return read_attempt(stmt);
}

Result<std::vector<int64_t>> Store::running_attempts() {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare("SELECT id FROM attempts WHERE status = 'running' ORDER BY id",
                                        "find running attempts"));
  return collect<int64_t>(stmt, [](const Statement &s) { return s.column_int64(0); });
}

Result<std::vector<LogRecord>> Store::logs_of_step(int64_t step_id, int64_t after_log_id,
                                                   int limit) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare("SELECT id, step_id, attempt_id, ts_ms, level, stream, "
                                        "message FROM logs WHERE step_id = ? AND id > ? "
                                        "ORDER BY id LIMIT ?",
                                        "read logs of step"));
  stmt.bind(1, step_id).bind(2, after_log_id).bind(3, limit);
  return collect<LogRecord>(stmt, [](const Statement &s) {
    return LogRecord{s.column_int64(0), s.column_int64(1), s.column_int64(2), s.column_int64(3),
                     s.column_text(4),  s.column_text(5),  s.column_text(6)};
  });
}

Result<std::vector<MetricPoint>> Store::metrics_of_step(int64_t step_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare("SELECT step_id, attempt_id, name, iteration, value "
                                        "FROM metrics WHERE step_id = ? "
                                        "ORDER BY name, iteration, rowid",
                                        "read metrics of step"));
  stmt.bind(1, step_id);
  return collect<MetricPoint>(stmt, read_metric);
}

namespace {

// The positions kept of a series of n rows: i = floor(k (n - 1) / (m - 1)) for
// k = 0 .. m - 1 (the first and last included), or all of them when the series
// is short or m < 2. Appends the rowids at those positions to `kept`.
void keep_strided(const std::vector<int64_t> &series, int max_points, std::vector<int64_t> &kept) {
  const int64_t n = static_cast<int64_t>(series.size());
  if (max_points < 2 || n <= max_points) {
    kept.insert(kept.end(), series.begin(), series.end());
    return;
  }
  for (int64_t k = 0; k < max_points; ++k) {
    kept.push_back(series[static_cast<size_t>(k * (n - 1) / (max_points - 1))]);
  }
}

}  // namespace

// Two passes, so that a long series costs a walk over its index entries rather
// than a sort of its rows: the rowids of the chosen attempt's points in series
// order, read from the metrics_by_attempt index alone; then the rows kept,
// fetched by rowid. One snapshot, so both passes see the same points.
Result<std::vector<MetricPoint>> Store::metric_series(int64_t step_id,
                                                     const AttemptSelector &attempts,
                                                     int max_points) {
  ReaderPool::Lease read_db = readers_->borrow();
  ReaderPool::Snapshot snapshot(*read_db);
  RF_RETURN_IF_ERROR(snapshot.status());
  // Which attempt's points: every attempt's, a numbered attempt's, or the latest
  // attempt that logged any. attempt_id 0 binds as NULL: the rows that carry no
  // attempt, which is what "latest" means when no row carries one.
  const bool all = attempts.kind == AttemptSelector::Kind::kAll;
  int64_t attempt_id = 0;
  if (attempts.kind == AttemptSelector::Kind::kNumber) {
    RF_ASSIGN_OR_RETURN(Statement find,
                        read_db->prepare("SELECT id FROM attempts WHERE step_id = ? AND "
                                         "number = ?",
                                         "find attempt of step"));
    find.bind(1, step_id).bind(2, attempts.number);
    RF_ASSIGN_OR_RETURN(bool row, find.step());
    if (!row) {
      return Status::error("not_found", "step " + std::to_string(step_id) + " has no attempt " +
                                            std::to_string(attempts.number));
    }
    attempt_id = find.column_int64(0);
  } else if (attempts.kind == AttemptSelector::Kind::kLatest) {
    RF_ASSIGN_OR_RETURN(Statement latest,
                        read_db->prepare("SELECT MAX(attempt_id) FROM metrics WHERE step_id = ?",
                                         "find latest attempt with metrics"));
    latest.bind(1, step_id);
    RF_ASSIGN_OR_RETURN(bool row, latest.step());
    if (row) attempt_id = latest.column_int64(0);  // NULL (no attempt) reads as 0
  }

  RF_ASSIGN_OR_RETURN(
      Statement walk,
      read_db->prepare(all ? "SELECT rowid, name FROM metrics WHERE step_id = ?1 "
                             "ORDER BY name, iteration, rowid"
                           : "SELECT rowid, name FROM metrics WHERE step_id = ?1 AND "
                             "attempt_id IS ?2 ORDER BY name, iteration, rowid",
                       "walk metric series of step"));
  walk.bind(1, step_id);
  if (!all) walk.bind_id(2, attempt_id);
  std::vector<int64_t> kept;
  std::vector<int64_t> series;
  std::string series_name;
  while (true) {
    RF_ASSIGN_OR_RETURN(bool row, walk.step());
    if (!row) break;
    std::string name = walk.column_text(1);
    if (name != series_name) {
      keep_strided(series, max_points, kept);
      series.clear();
      series_name = std::move(name);
    }
    series.push_back(walk.column_int64(0));
  }
  keep_strided(series, max_points, kept);

  RF_ASSIGN_OR_RETURN(Statement fetch,
                      read_db->prepare("SELECT step_id, attempt_id, name, iteration, value "
                                       "FROM metrics WHERE rowid = ?",
                                       "read metric point"));
  std::vector<MetricPoint> points;
  points.reserve(kept.size());
  for (int64_t rowid : kept) {
    fetch.reset().bind(1, rowid);
    RF_ASSIGN_OR_RETURN(bool row, fetch.step());
    if (row) points.push_back(read_metric(fetch));
  }
  return points;
}

Result<bool> Store::run_cancel_requested(int64_t run_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare("SELECT cancel_requested FROM runs WHERE id = ?",
                                        "read cancel request"));
  stmt.bind(1, run_id);
  RF_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return not_found("run", run_id);
  return stmt.column_int64(0) != 0;
}

Result<std::vector<std::string>> Store::referenced_digests() {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare("SELECT DISTINCT digest FROM artifacts ORDER BY digest",
                                        "read referenced digests"));
  return collect<std::string>(stmt, [](const Statement &s) { return s.column_text(0); });
}

Result<std::vector<ArtifactRecord>> Store::outputs_of_step(int64_t step_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  // A retried step may register an output once per attempt; the latest wins.
  RF_ASSIGN_OR_RETURN(
      Statement stmt,
      read_db->prepare(std::string(kArtifactColumns) +
                            "WHERE id IN (SELECT MAX(id) FROM artifacts WHERE step_id IN "
                            "(?1, (SELECT cached_from_step FROM steps WHERE id = ?1)) "
                            "GROUP BY output_name) ORDER BY output_name",
                        "read outputs of step"));
  stmt.bind(1, step_id);
  return collect<ArtifactRecord>(stmt, [](const Statement &s) { return read_artifact(s); });
}

Result<ArtifactRecord> Store::get_artifact(int64_t artifact_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(
      Statement stmt,
      read_db->prepare(std::string(kArtifactColumns) + "WHERE id = ?", "read artifact"));
  stmt.bind(1, artifact_id);
  RF_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return not_found("artifact", artifact_id);
  return read_artifact(stmt);
}

Result<std::vector<AttemptInput>> Store::inputs_of_attempt(int64_t attempt_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(
      Statement stmt,
      read_db->prepare("SELECT i.input_name, a.id, a.digest, a.kind, a.size_bytes, "
                        "a.created_ms, "
                        "a.producer_attempt_id, a.step_id, a.output_name "
                        "FROM attempt_inputs i JOIN artifacts a ON a.id = i.artifact_id "
                        "WHERE i.attempt_id = ? ORDER BY i.input_name",
                        "read inputs of attempt"));
  stmt.bind(1, attempt_id);
  return collect<AttemptInput>(stmt, [](const Statement &s) {
    return AttemptInput{s.column_text(0), read_artifact(s, 1)};
  });
}

Result<std::string> Store::get_plugin_descriptor(const std::string &sha256) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare("SELECT descriptor_json FROM plugin_descriptors "
                                        "WHERE sha256 = ?",
                                        "read plugin descriptor"));
  stmt.bind(1, sha256);
  RF_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return Status::error("not_found", "plugin descriptor " + sha256 + " not found");
  return stmt.column_text(0);
}

Result<std::string> Store::get_run_manifest(int64_t run_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare("SELECT manifest_json FROM run_manifests WHERE run_id = ?",
                                        "read run manifest"));
  stmt.bind(1, run_id);
  RF_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) {
    return Status::error("not_found", "run " + std::to_string(run_id) +
                                          " has no manifest (unknown run, or submitted before "
                                          "radflow recorded manifests)");
  }
  return stmt.column_text(0);
}

}  // namespace radflow::storage
