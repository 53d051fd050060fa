// audit_data_dir: checks that a radflowd data folder is consistent, the way an
// operator would after a crash, a full disk or a lock storm. Reads the database
// (read-only, with its own sqlite3 connection) and re-hashes the artifact store
// (data_dir/artifacts/sha256/<2 hex>/<digest>, see storage/artifact_store.h).
//
// Returns one readable line per problem; an empty list means the folder is sound.
// Safe to call while a daemon runs (WAL readers do not block it); with
// AuditScope::kQuiescent the caller promises that nothing is running.
#pragma once

#include <string>
#include <vector>

namespace radflow::test {

enum class AuditScope {
  // The daemon may be running, or was killed with SIGKILL: attempts of unfinished
  // runs may legitimately still read 'running'.
  kAnyMoment,
  // The daemon was stopped gracefully, or every run has finished: no attempt and
  // no step may be 'running'.
  kQuiescent,
};

// Always checked: PRAGMA integrity_check and foreign_key_check; unique
// (step_id, number) per attempt and (producer_attempt_id, output_name) per
// artifact; at most one succeeded attempt per step, exactly one for a succeeded
// step; every step of a finished run finished, none of its attempts 'running';
// every artifact row's content present, with its digest (and size) matching the
// bytes in the store.
std::vector<std::string> audit_data_dir(const std::string& data_dir, AuditScope scope);

// The problems, one per line, for a gtest failure message.
std::string audit_report(const std::vector<std::string>& problems);

}  // namespace radflow::test
