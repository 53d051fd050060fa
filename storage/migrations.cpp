#include "storage/migrations.h"

#include <algorithm>
#include <string>
#include <vector>

namespace radflow::storage {

namespace {

// Append only. Indexes follow the queries in store_queries.cpp.
const std::vector<std::string> &migrations() {
  static const std::vector<std::string> kMigrations = {
      // 1: the initial schema.
      R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  workflow_json TEXT NOT NULL,
  params_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  started_ms INTEGER,
  finished_ms INTEGER,
  message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_status ON runs(status, id);

CREATE TABLE steps (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  plugin TEXT NOT NULL,
  plugin_version TEXT NOT NULL,
  params_json TEXT NOT NULL,
  resources_json TEXT NOT NULL,
  retries INTEGER NOT NULL,
  timeout_s REAL NOT NULL,
  cache INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  position INTEGER NOT NULL,
  status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  progress REAL NOT NULL DEFAULT 0,
  progress_message TEXT NOT NULL DEFAULT '',
  cache_key TEXT NOT NULL DEFAULT '',
  cached_from_step INTEGER REFERENCES steps(id),
  started_ms INTEGER,
  finished_ms INTEGER,
  UNIQUE(run_id, name)
);
CREATE INDEX steps_by_run_position ON steps(run_id, position);
CREATE INDEX steps_by_cache_key ON steps(cache_key, status);

CREATE TABLE step_inputs (
  step_id INTEGER NOT NULL REFERENCES steps(id) ON DELETE CASCADE,
  input_name TEXT NOT NULL,
  source_step_name TEXT NOT NULL,
  source_output TEXT NOT NULL,
  PRIMARY KEY (step_id, input_name)
);

CREATE TABLE attempts (
  id INTEGER PRIMARY KEY,
  step_id INTEGER NOT NULL REFERENCES steps(id) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  exit_code INTEGER,
  signal INTEGER,
  pids TEXT NOT NULL DEFAULT '[]',
  devices TEXT NOT NULL DEFAULT '',
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER
);
CREATE INDEX attempts_by_step ON attempts(step_id, number);
CREATE INDEX attempts_by_status ON attempts(status);

CREATE TABLE logs (
  id INTEGER PRIMARY KEY,
  step_id INTEGER NOT NULL REFERENCES steps(id) ON DELETE CASCADE,
  attempt_id INTEGER REFERENCES attempts(id),
  ts_ms INTEGER NOT NULL,
  level TEXT NOT NULL,
  stream TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX logs_by_step ON logs(step_id, id);

CREATE TABLE metrics (
  step_id INTEGER NOT NULL REFERENCES steps(id) ON DELETE CASCADE,
  attempt_id INTEGER REFERENCES attempts(id),
  name TEXT NOT NULL,
  iteration INTEGER NOT NULL,
  value REAL
);
CREATE INDEX metrics_by_step ON metrics(step_id, name, iteration);

CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY,
  digest TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('file', 'dir')),
  size_bytes INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  producer_attempt_id INTEGER REFERENCES attempts(id),
  step_id INTEGER REFERENCES steps(id),
  output_name TEXT
);
CREATE INDEX artifacts_by_step ON artifacts(step_id, output_name);
CREATE INDEX artifacts_by_digest ON artifacts(digest);

CREATE TABLE attempt_inputs (
  attempt_id INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
  input_name TEXT NOT NULL,
  artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
  PRIMARY KEY (attempt_id, input_name)
);
CREATE INDEX attempt_inputs_by_artifact ON attempt_inputs(artifact_id);

CREATE TABLE plugin_descriptors (
  sha256 TEXT PRIMARY KEY,
  descriptor_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
)sql",
      // 2: who submitted each run.
      R"sql(
ALTER TABLE runs ADD COLUMN submitted_by TEXT NOT NULL DEFAULT '';
)sql",
      // 3: the digest of the plugin library each step was validated against (cache key).
      R"sql(
ALTER TABLE steps ADD COLUMN plugin_sha256 TEXT NOT NULL DEFAULT '';
)sql",
      // 4: rows that must be unique are. A database written before may hold
      // duplicates (crash recovery registered an output twice); the lowest id
      // of each group is kept and whatever pointed at a duplicate is moved to it,
      // so no log, metric or lineage row is lost.
      R"sql(
CREATE TEMP TABLE attempt_dups AS
  SELECT a.id AS dup, k.keep AS keep FROM attempts a
  JOIN (SELECT step_id, number, MIN(id) AS keep FROM attempts GROUP BY step_id, number) k
    ON k.step_id = a.step_id AND k.number = a.number
  WHERE a.id <> k.keep;
UPDATE logs SET attempt_id = (SELECT keep FROM attempt_dups WHERE dup = logs.attempt_id)
  WHERE attempt_id IN (SELECT dup FROM attempt_dups);
UPDATE metrics SET attempt_id = (SELECT keep FROM attempt_dups WHERE dup = metrics.attempt_id)
  WHERE attempt_id IN (SELECT dup FROM attempt_dups);
UPDATE artifacts SET producer_attempt_id =
    (SELECT keep FROM attempt_dups WHERE dup = artifacts.producer_attempt_id)
  WHERE producer_attempt_id IN (SELECT dup FROM attempt_dups);
INSERT OR IGNORE INTO attempt_inputs (attempt_id, input_name, artifact_id)
  SELECT d.keep, i.input_name, i.artifact_id FROM attempt_inputs i
  JOIN attempt_dups d ON d.dup = i.attempt_id ORDER BY i.attempt_id;
DELETE FROM attempts WHERE id IN (SELECT dup FROM attempt_dups);
DROP TABLE attempt_dups;
CREATE UNIQUE INDEX attempts_unique_number ON attempts(step_id, number);

CREATE TEMP TABLE artifact_dups AS
  SELECT a.id AS dup, k.keep AS keep FROM artifacts a
  JOIN (SELECT producer_attempt_id, output_name, MIN(id) AS keep FROM artifacts
        WHERE producer_attempt_id IS NOT NULL AND output_name IS NOT NULL
        GROUP BY producer_attempt_id, output_name) k
    ON k.producer_attempt_id = a.producer_attempt_id AND k.output_name = a.output_name
  WHERE a.id <> k.keep;
UPDATE attempt_inputs SET artifact_id =
    (SELECT keep FROM artifact_dups WHERE dup = attempt_inputs.artifact_id)
  WHERE artifact_id IN (SELECT dup FROM artifact_dups);
DELETE FROM artifacts WHERE id IN (SELECT dup FROM artifact_dups);
DROP TABLE artifact_dups;
CREATE UNIQUE INDEX artifacts_unique_output ON artifacts(producer_attempt_id, output_name);
)sql",
      // 5: a cancel request survives a restart; tags get a column of their own
      // (filled from the submitted workflow) so run lists need not read it.
      R"sql(
ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN tags_json TEXT NOT NULL DEFAULT '[]';
UPDATE runs SET tags_json = json_extract(workflow_json, '$.tags')
  WHERE json_valid(workflow_json) AND json_type(workflow_json, '$.tags') = 'array';
)sql",
      // 6: API tokens (only their sha256) and the audit log of who changed what.
      R"sql(
CREATE TABLE tokens (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'submitter', 'admin')),
  hash TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL,
  revoked_ms INTEGER
);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  ts_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  role TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  details_json TEXT NOT NULL DEFAULT '{}'
);
)sql",
      // 7: what exact replay needs, recorded when a run is accepted: the workflow as
      // submitted, resolved params, plugin and worker digests, numerics knobs
      // (orchestrator/scheduler/run_manifest.h builds it). Older runs have no row.
      R"sql(
CREATE TABLE run_manifests (
  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  manifest_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
)sql",
      // 8: the dashboard's run search (Store::search_runs) without text: its
      // filters (status, name) and the duration it orders by read from this index
      // alone, not from rows that hold the submitted workflow (bench/api: sort by
      // duration 39 -> 8.5 ms at 10,000 runs).
      R"sql(
CREATE INDEX runs_for_search ON runs(status, name, started_ms, finished_ms);
)sql",
      // 9: a step's curves by attempt (Store::metric_series): the chosen attempt's
      // points in series order from the index alone, where metrics_by_step made
      // every request sort all of the step's rows (bench/api). step_id stays the
      // first column, for deleting a run's metrics.
      R"sql(
DROP INDEX metrics_by_step;
CREATE INDEX metrics_by_attempt ON metrics(step_id, attempt_id, name, iteration);
)sql",
  };
  return kMigrations;
}

}  // namespace

int latest_schema_version() { return static_cast<int>(migrations().size()); }

Status migrate(Database &db) { return migrate_to(db, latest_schema_version()); }

Status migrate_to(Database &db, int target) {
  RF_ASSIGN_OR_RETURN(int64_t version,
                      db.query_int64("PRAGMA user_version", "read schema version"));
  const int latest = latest_schema_version();
  if (version > latest) {
    return Status::error("storage_error", "database schema version " + std::to_string(version) +
                                              " is newer than this build's " +
                                              std::to_string(latest));
  }
  for (int next = static_cast<int>(version) + 1; next <= std::min(target, latest); ++next) {
    const std::string purpose = "migrate schema to version " + std::to_string(next);
    RF_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE", purpose));
    // PRAGMA user_version takes no bound parameters, hence the literal.
    Status applied = db.exec(
        migrations()[next - 1] + "\nPRAGMA user_version = " + std::to_string(next) + ";", purpose);
    if (applied.ok()) applied = db.exec("COMMIT", purpose);
    if (!applied.ok()) {
      (void)db.exec("ROLLBACK", purpose);
      return applied;
    }
  }
  return Status();
}

}  // namespace radflow::storage
