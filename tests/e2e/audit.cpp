#include "tests/e2e/audit.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "common/sha256.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;

using Row = std::vector<std::string>;

// Every row of `sql` as text (NULL reads as "NULL"); a failed query is a problem.
std::vector<Row> query(sqlite3* db, const std::string& sql, std::vector<std::string>& problems) {
  std::vector<Row> rows;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    problems.push_back("query failed (" + std::string(sqlite3_errmsg(db)) + "): " + sql);
    sqlite3_finalize(stmt);
    return rows;
  }
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    Row row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      const unsigned char* text = sqlite3_column_text(stmt, i);
      row.push_back(text ? reinterpret_cast<const char*>(text) : "NULL");
    }
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    problems.push_back("query failed (" + std::string(sqlite3_errmsg(db)) + "): " + sql);
  }
  sqlite3_finalize(stmt);
  return rows;
}

// Adds one problem per row: `what` followed by the row's columns.
void each_row_is_a_problem(sqlite3* db, const std::string& sql, const std::string& what,
                           std::vector<std::string>& problems) {
  for (const Row& row : query(db, sql, problems)) {
    std::string line = what + ":";
    for (const std::string& column : row) line += " " + column;
    problems.push_back(line);
  }
}

// The digest and total size of a stored folder, by the artifact store's rule:
// sha256 over "<relpath>\t<file sha256>\t<size>\n" in byte order of relpath.
std::string folder_digest(const fs::path& root, int64_t& total_bytes, std::string& error) {
  std::vector<std::pair<std::string, fs::path>> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::file_status status = it->symlink_status(ec);
    if (fs::is_directory(status)) continue;
    if (!fs::is_regular_file(status)) {
      error = "holds a non-regular file " + it->path().string();
      return "";
    }
    files.emplace_back(it->path().lexically_relative(root).generic_string(), it->path());
  }
  if (ec) {
    error = "cannot walk: " + ec.message();
    return "";
  }
  std::sort(files.begin(), files.end());
  Sha256 manifest;
  total_bytes = 0;
  for (const auto& [relative, path] : files) {
    Result<std::string> digest = sha256_file(path.string());
    if (!digest.ok()) {
      error = digest.status().message();
      return "";
    }
    const auto size = static_cast<int64_t>(fs::file_size(path, ec));
    total_bytes += size;
    manifest.update(relative + "\t" + *digest + "\t" + std::to_string(size) + "\n");
  }
  return manifest.hex_digest();
}

// Empty when the stored content of `digest` is intact, else what is wrong.
std::string check_stored(const std::string& data_dir, const std::string& digest,
                         const std::string& kind, int64_t size_bytes) {
  if (digest.size() != 64) return "malformed digest '" + digest + "'";
  const fs::path path = fs::path(data_dir) / "artifacts" / "sha256" / digest.substr(0, 2) / digest;
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(path, ec);
  if (!fs::exists(status)) return "content missing at " + path.string();
  std::string actual;
  int64_t actual_size = 0;
  if (kind == "file") {
    if (!fs::is_regular_file(status)) return path.string() + " is not a regular file";
    Result<std::string> hashed = sha256_file(path.string());
    if (!hashed.ok()) return hashed.status().message();
    actual = *hashed;
    actual_size = static_cast<int64_t>(fs::file_size(path, ec));
  } else {
    if (!fs::is_directory(status)) return path.string() + " is not a folder";
    std::string error;
    actual = folder_digest(path, actual_size, error);
    if (!error.empty()) return path.string() + " " + error;
  }
  if (actual != digest) return path.string() + " now hashes to " + actual;
  if (actual_size != size_bytes) {
    return path.string() + " holds " + std::to_string(actual_size) + " bytes, the row says " +
           std::to_string(size_bytes);
  }
  return "";
}

const char* kFinishedRun = "('succeeded', 'failed', 'cancelled')";
const char* kFinishedStep = "('succeeded', 'failed', 'cancelled', 'cached', 'skipped')";

}  // namespace

std::vector<std::string> audit_data_dir(const std::string& data_dir, AuditScope scope) {
  std::vector<std::string> problems;
  const std::string database = data_dir + "/radflow.db";
  if (!fs::exists(database)) return {"no database at " + database};
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    problems.push_back("cannot open " + database + ": " + sqlite3_errmsg(db));
    sqlite3_close(db);
    return problems;
  }
  sqlite3_busy_timeout(db, 5000);

  for (const Row& row : query(db, "PRAGMA integrity_check", problems)) {
    if (row.at(0) != "ok") problems.push_back("integrity_check: " + row.at(0));
  }
  each_row_is_a_problem(db, "PRAGMA foreign_key_check",
                        "foreign key broken (table, rowid, parent, fk index)", problems);
  each_row_is_a_problem(db,
                        "SELECT step_id, number, COUNT(*) FROM attempts "
                        "GROUP BY step_id, number HAVING COUNT(*) > 1",
                        "duplicate attempt rows (step_id, number, count)", problems);
  each_row_is_a_problem(db,
                        "SELECT producer_attempt_id, output_name, COUNT(*) FROM artifacts "
                        "WHERE producer_attempt_id IS NOT NULL "
                        "GROUP BY producer_attempt_id, output_name HAVING COUNT(*) > 1",
                        "duplicate artifact rows (producer_attempt_id, output_name, count)",
                        problems);
  each_row_is_a_problem(db,
                        "SELECT step_id, COUNT(*) FROM attempts WHERE status = 'succeeded' "
                        "GROUP BY step_id HAVING COUNT(*) > 1",
                        "step succeeded more than once (step_id, succeeded attempts)", problems);
  each_row_is_a_problem(db,
                        "SELECT s.run_id, s.name, (SELECT COUNT(*) FROM attempts a WHERE "
                        "a.step_id = s.id AND a.status = 'succeeded') AS n FROM steps s "
                        "WHERE s.status = 'succeeded' AND n <> 1",
                        "succeeded step without exactly one succeeded attempt (run, step, "
                        "succeeded attempts)",
                        problems);
  each_row_is_a_problem(db,
                        std::string("SELECT r.id, r.status, s.name, s.status FROM steps s "
                                    "JOIN runs r ON r.id = s.run_id WHERE r.status IN ") +
                            kFinishedRun + " AND s.status NOT IN " + kFinishedStep,
                        "finished run with an unfinished step (run, run status, step, step status)",
                        problems);
  each_row_is_a_problem(db,
                        "SELECT r.id, s.name, s.status FROM steps s JOIN runs r ON "
                        "r.id = s.run_id WHERE r.status = 'succeeded' AND s.status NOT IN "
                        "('succeeded', 'cached')",
                        "succeeded run with a step that did not succeed (run, step, status)",
                        problems);
  each_row_is_a_problem(db,
                        std::string("SELECT r.id, s.name, a.number FROM attempts a "
                                    "JOIN steps s ON s.id = a.step_id JOIN runs r ON "
                                    "r.id = s.run_id WHERE a.status = 'running' AND r.status IN ") +
                            kFinishedRun,
                        "finished run with an attempt still 'running' (run, step, attempt)",
                        problems);
  if (scope == AuditScope::kQuiescent) {
    each_row_is_a_problem(db,
                          "SELECT s.run_id, s.name, a.number FROM attempts a JOIN steps s ON "
                          "s.id = a.step_id WHERE a.status = 'running'",
                          "attempt left 'running' with nothing running (run, step, attempt)",
                          problems);
    each_row_is_a_problem(db,
                          "SELECT run_id, name FROM steps WHERE status = 'running'",
                          "step left 'running' with nothing running (run, step)", problems);
  }

  std::map<std::string, std::string> checked;  // digest -> problem ("" when intact)
  for (const Row& row :
       query(db, "SELECT id, digest, kind, size_bytes FROM artifacts ORDER BY id", problems)) {
    const std::string& digest = row.at(1);
    auto found = checked.find(digest);
    if (found == checked.end()) {
      found = checked.emplace(digest, check_stored(data_dir, digest, row.at(2),
                                                   std::stoll(row.at(3))))
                  .first;
    }
    if (!found->second.empty()) {
      problems.push_back("artifact " + row.at(0) + " (" + row.at(2) + " " + digest +
                         "): " + found->second);
    }
  }
  sqlite3_close(db);
  return problems;
}

std::string audit_report(const std::vector<std::string>& problems) {
  std::string text = std::to_string(problems.size()) + " audit problem(s)";
  for (const std::string& problem : problems) text += "\n  " + problem;
  return text;
}

}  // namespace radflow::test
