// Plain records that cross the storage boundary: what callers hand to Store to
// create rows (New*) and what Store hands back from reads (*Record).
//
// Times are milliseconds since the Unix epoch; 0 means "not yet" (for example
// started_ms of a queued step). Ids are SQLite rowids; 0 means "none".
// Status strings are free text chosen by the orchestrator ("queued", "running",
// "succeeded", "failed", "cancelled", "cached", "lost", ...). Values only: no
// ownership or thread-safety concerns beyond those of std::string and
// std::vector.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace radflow::storage {

// One edge of the DAG: input `input_name` of a step reads output
// `source_output` of the step named `source_step` in the same run.
struct NewStepInput {
  std::string input_name;
  std::string source_step;
  std::string source_output;
};

struct NewStep {
  std::string name;
  std::string plugin;
  std::string plugin_version;
  std::string plugin_sha256;  // of the library that validated the step; in the cache key
  std::string params_json = "{}";
  std::string resources_json = "{}";
  int retries = 0;
  double timeout_s = 0;  // 0: no timeout
  bool cache = true;
  int priority = 0;
  int position = 0;  // index in a topological order of the run's steps
  std::vector<NewStepInput> inputs;
};

struct NewRun {
  std::string name;
  std::string workflow_json;  // the text as submitted
  std::string params_json = "{}";
  std::string submitted_by;   // who submitted it, as the client said; may be empty
  std::vector<NewStep> steps;
  // The replay record (JSON object), stored in run_manifests with the run; empty:
  // none is stored.
  std::string manifest_json;
};

struct RunRecord {
  int64_t id = 0;
  std::string name;
  std::string status;
  std::string workflow_json;
  std::string params_json;
  int64_t created_ms = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  std::string message;
  std::string submitted_by;
  // The workflow's "tags" as a JSON array ("[]" when it has none). Stored in
  // its own column so run lists need not read workflow_json (which list_runs
  // leaves empty).
  std::string tags_json = "[]";
  // record_cancel_request() was called: the run must end cancelled, even
  // after a daemon restart. requeue_steps() clears it.
  bool cancel_requested = false;
};

struct StepRecord {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string name;
  std::string plugin;
  std::string plugin_version;
  std::string plugin_sha256;  // of the library that validated the step; in the cache key
  std::string params_json;
  std::string resources_json;
  int retries = 0;
  double timeout_s = 0;
  bool cache = true;
  int priority = 0;
  int position = 0;
  std::string status;
  std::string reason;
  std::string message;
  double progress = 0;
  std::string progress_message;
  std::string cache_key;
  int64_t cached_from_step = 0;  // 0: not served from the cache
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  std::vector<NewStepInput> inputs;  // in input_name order
};

struct AttemptRecord {
  int64_t id = 0;
  int64_t step_id = 0;
  int number = 0;  // 1-based
  std::string status;
  std::string reason;
  std::string message;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::vector<int64_t> pids;
  std::string devices;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
};

struct LogRecord {
  int64_t id = 0;  // assigned by the store; ignored on append
  int64_t step_id = 0;
  int64_t attempt_id = 0;  // 0: not tied to an attempt
  int64_t ts_ms = 0;
  std::string level;   // "debug", "info", "warn", "error"
  std::string stream;  // "plugin", "stdout", "stderr", "radflow"
  std::string message;
};

// value may be NaN (a diverged loss is worth recording); it round-trips as NaN.
struct MetricPoint {
  int64_t step_id = 0;
  int64_t attempt_id = 0;
  std::string name;
  int64_t iteration = 0;
  double value = 0;
};

struct ArtifactRecord {
  int64_t id = 0;  // assigned by the store; ignored on add
  std::string digest;
  std::string kind;  // "file" or "dir"
  int64_t size_bytes = 0;
  int64_t created_ms = 0;           // 0 on add: the store stamps now_ms()
  int64_t producer_attempt_id = 0;  // 0: none (for example an imported file)
  int64_t step_id = 0;              // 0: none
  std::string output_name;          // empty: none
};

// How an attempt ended (the fields finish_attempt() takes).
struct AttemptEnd {
  std::string status;
  std::string reason;
  std::string message;
  std::optional<int> exit_code;
  std::optional<int> signal;
  // When the attempt's processes ended (ms since the epoch); 0: when this is
  // written. Taking the outputs in comes after and is radflow's work, not the
  // attempt's, so an attempt's interval is its workers' lifetime.
  int64_t finished_ms = 0;
};

// A step's new status (the fields set_step_status() takes).
struct StepStatusChange {
  std::string status;
  std::string reason;
  std::string message;
};

// Which attempts' points metric_series() reads. A retried step starts its
// curves again in each attempt.
struct AttemptSelector {
  enum class Kind {
    kLatest,  // the attempt with the highest id among the step's points
    kNumber,  // attempt `number` (1-based); not_found when the step has none
    kAll,     // every point of every attempt
  };
  Kind kind = Kind::kLatest;
  int number = 0;

  static AttemptSelector latest() { return {}; }
  static AttemptSelector attempt(int number) { return {Kind::kNumber, number}; }
  static AttemptSelector all() { return {Kind::kAll, 0}; }
};

// What delete_run() removed. Artifact rows another run still uses are kept
// (see Store::delete_run).
struct DeleteReport {
  int64_t run_id = 0;
  int64_t steps = 0;
  int64_t attempts = 0;
  int64_t logs = 0;
  int64_t metrics = 0;
  int64_t artifacts_deleted = 0;
  int64_t artifacts_kept = 0;  // re-homed to another run's cached step or detached
  // Digests no artifact row references any more: collect_garbage() frees them.
  std::vector<std::string> released_digests;
};

// What collect_garbage() freed (or, on a dry run, would free).
struct GcReport {
  bool dry_run = false;
  int64_t referenced_digests = 0;    // distinct digests artifact rows hold
  int64_t files = 0;                 // regular files under the removed entries
  int64_t bytes = 0;                 // their sizes
  std::vector<std::string> digests;  // unreferenced stored artifacts removed
  int64_t staging_entries = 0;       // leftovers of interrupted put()s removed
  int64_t skipped_young = 0;         // unreferenced, but younger than the grace period
};

// Lineage: attempt read `artifact` as its input `input_name`.
struct AttemptInput {
  std::string input_name;
  ArtifactRecord artifact;
};

// An API token (storage/store_security.cpp). Only the sha256 of the token is
// stored; the token itself is shown once, when it is created.
struct TokenRecord {
  int64_t id = 0;
  std::string name;        // who holds it: runs it submits carry this name
  std::string role;        // "viewer", "submitter" or "admin"
  std::string hash;        // lower-case hex sha256 of the token
  int64_t created_ms = 0;  // 0 on create: the store stamps now_ms()
  int64_t revoked_ms = 0;  // 0: active
};

// One audited action: who did what to what, and when.
struct AuditRecord {
  int64_t id = 0;
  int64_t ts_ms = 0;               // 0 on append: the store stamps now_ms()
  std::string actor;               // token name, or what an unauthenticated client said
  std::string role;                // the actor's role; "" without authentication
  std::string action;              // "submit", "cancel", "token_create", ...
  std::string target;              // "run 7", "token alice", ...
  std::string details_json = "{}";
};

}  // namespace radflow::storage
