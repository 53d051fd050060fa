// Database and Statement: a thin RAII layer over one sqlite3 connection.
//
// Database owns the connection and a cache of prepared statements keyed by SQL
// text, so hot writes (log and metric appends) prepare once. Statement borrows
// a cached sqlite3_stmt (or owns a fresh one when the cached one is already in
// use) and resets it on destruction; it must not outlive its Database. Every
// failure becomes Status code "storage_error" whose message names the purpose
// of the SQL and sqlite's own message.
//
// Not thread-safe: one thread at a time per Database (Store guards each
// connection with its own mutex or thread).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace radflow::storage {

class Database;

class Statement {
 public:
  Statement(Statement &&other) noexcept;
  Statement &operator=(Statement &&) = delete;
  Statement(const Statement &) = delete;
  ~Statement();

  // Parameters are 1-based, as in sqlite3_bind_*.
  Statement &bind(int index, int64_t value);
  Statement &bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement &bind(int index, double value);  // NaN binds as NULL
  Statement &bind(int index, const std::string &value);
  // Binds `value` without copying it: it must stay valid until the parameter is
  // bound again or the Statement is destroyed (for rows of a batch the caller owns).
  Statement &bind_borrowed(int index, std::string_view value);
  Statement &bind_null(int index);
  // 0 binds as NULL: ids and times use 0 for "none".
  Statement &bind_id(int index, int64_t id);
  Statement &bind(int index, const std::optional<int> &value);

  // true: a row is ready to read; false: the statement is done.
  Result<bool> step();
  // Runs a statement that returns no rows (or ignores them).
  Status run();
  // Makes the statement ready to run again, as for the next row of a batch: the
  // bindings stay until they are bound again.
  Statement &reset();

  int64_t column_int64(int index) const;
  double column_double(int index) const;     // NULL reads as NaN
  std::string column_text(int index) const;  // NULL reads as ""
  bool column_is_null(int index) const;
  std::optional<int> column_optional_int(int index) const;

 private:
  friend class Database;
  Statement(Database *db, sqlite3_stmt *stmt, bool owned, bool *in_use, std::string purpose);
  Status error(const std::string &what) const;

  Database *db_;
  sqlite3_stmt *stmt_;
  bool owned_;    // finalize on destruction instead of returning to the cache
  bool *in_use_;  // the cache slot's busy flag; null when owned_
  std::string purpose_;
  int bind_rc_ = SQLITE_OK;  // first bind failure, reported by step()
};

class Database {
 public:
  enum class Mode { kReadWrite, kReadOnly };

  // Opens (creating when kReadWrite) the database file at `path`.
  static Result<std::unique_ptr<Database>> open(const std::string &path, Mode mode);
  ~Database();
  Database(const Database &) = delete;
  Database &operator=(const Database &) = delete;

  // Prepares `sql` (one statement). `purpose` goes into error messages.
  Result<Statement> prepare(const std::string &sql, const std::string &purpose);
  // Runs one or more statements that return nothing useful (DDL, PRAGMA,
  // BEGIN).
  Status exec(const std::string &sql, const std::string &purpose);
  // Runs a query whose first column of the first row is an integer.
  Result<int64_t> query_int64(const std::string &sql, const std::string &purpose);
  Result<std::string> query_text(const std::string &sql, const std::string &purpose);

  int64_t last_insert_rowid() const;
  int changes() const;
  sqlite3 *handle() const { return db_; }
  Status error(const std::string &purpose) const;

 private:
  struct CachedStatement {
    sqlite3_stmt *stmt = nullptr;
    bool in_use = false;
  };
  explicit Database(sqlite3 *db) : db_(db) {}

  sqlite3 *db_;
  std::map<std::string, CachedStatement> cache_;
};

// Milliseconds since the Unix epoch (wall clock): what every *_ms column holds.
int64_t now_ms();

// Runs `stmt` to the end, turning each row into a T with `read_row`.
template <typename T>
Result<std::vector<T>> collect(Statement &stmt,
                               const std::function<T(const Statement &)> &read_row) {
  std::vector<T> rows;
  while (true) {
    RF_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) return rows;
    rows.push_back(read_row(stmt));
  }
}

}  // namespace radflow::storage
