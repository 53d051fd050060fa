#include "storage/database.h"

#include <chrono>
#include <cmath>
#include <limits>

namespace radflow::storage {

namespace {
Status storage_error(const std::string &purpose, const std::string &detail) {
  return Status::error("storage_error", purpose + ": " + detail);
}
}  // namespace

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- Statement ----

Statement::Statement(Database *db, sqlite3_stmt *stmt, bool owned, bool *in_use,
                     std::string purpose)
    : db_(db), stmt_(stmt), owned_(owned), in_use_(in_use), purpose_(std::move(purpose)) {}

Statement::Statement(Statement &&other) noexcept
    : db_(other.db_),
      stmt_(other.stmt_),
      owned_(other.owned_),
      in_use_(other.in_use_),
      purpose_(std::move(other.purpose_)),
      bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
  other.in_use_ = nullptr;
}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  if (owned_) {
    sqlite3_finalize(stmt_);
    return;
  }
  // Reset so a half-read SELECT does not keep a read transaction (and with it
  // an old WAL snapshot) open until the next use of the cached statement.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (in_use_ != nullptr) *in_use_ = false;
}

Status Statement::error(const std::string &what) const { return storage_error(purpose_, what); }

Statement &Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement &Statement::bind(int index, double value) {
  // SQLite turns a bound NaN into NULL anyway; doing it here makes that
  // explicit.
  if (std::isnan(value)) return bind_null(index);
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement &Statement::bind(int index, const std::string &value) {
  int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                             SQLITE_TRANSIENT);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement &Statement::bind_borrowed(int index, std::string_view value) {
  // A null pointer would bind NULL, not the empty text.
  const char *text = value.data() != nullptr ? value.data() : "";
  int rc = sqlite3_bind_text(stmt_, index, text, static_cast<int>(value.size()), SQLITE_STATIC);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement &Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Statement &Statement::bind_id(int index, int64_t id) {
  return id == 0 ? bind_null(index) : bind(index, id);
}

Statement &Statement::bind(int index, const std::optional<int> &value) {
  return value ? bind(index, static_cast<int64_t>(*value)) : bind_null(index);
}

Result<bool> Statement::step() {
  if (bind_rc_ != SQLITE_OK) return error(std::string("bind: ") + sqlite3_errstr(bind_rc_));
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return error(sqlite3_errmsg(db_->handle()));
}

Status Statement::run() {
  while (true) {
    RF_ASSIGN_OR_RETURN(bool row, step());
    if (!row) return Status();
  }
}

Statement &Statement::reset() {
  // sqlite3_reset repeats the last step's error, which run() already reported.
  sqlite3_reset(stmt_);
  bind_rc_ = SQLITE_OK;
  return *this;
}

int64_t Statement::column_int64(int index) const { return sqlite3_column_int64(stmt_, index); }

double Statement::column_double(int index) const {
  if (column_is_null(index)) return std::numeric_limits<double>::quiet_NaN();
  return sqlite3_column_double(stmt_, index);
}

std::string Statement::column_text(int index) const {
  const unsigned char *text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char *>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

std::optional<int> Statement::column_optional_int(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return static_cast<int>(sqlite3_column_int64(stmt_, index));
}

// ---- Database ----

Result<std::unique_ptr<Database>> Database::open(const std::string &path, Mode mode) {
  sqlite3 *db = nullptr;
  // NOMUTEX: callers serialise access per connection, so sqlite's own mutex is
  // waste.
  int flags =
      SQLITE_OPEN_NOMUTEX |
      (mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return storage_error("open database " + path, detail);
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Database>(new Database(db));
}

Database::~Database() {
  for (auto &[sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  sqlite3_close(db_);
}

Status Database::error(const std::string &purpose) const {
  return storage_error(purpose, sqlite3_errmsg(db_));
}

Result<Statement> Database::prepare(const std::string &sql, const std::string &purpose) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Statement(this, it->second.stmt, /*owned=*/false, &it->second.in_use, purpose);
  }
  sqlite3_stmt *stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return error(purpose + " (prepare)");
  }
  if (it == cache_.end()) {
    CachedStatement &slot = cache_[sql];
    slot.stmt = stmt;
    slot.in_use = true;
    return Statement(this, stmt, /*owned=*/false, &slot.in_use, purpose);
  }
  // The cached copy is busy (a nested use of the same SQL): use a private one.
  return Statement(this, stmt, /*owned=*/true, nullptr, purpose);
}

Status Database::exec(const std::string &sql, const std::string &purpose) {
  char *message = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status();
  std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return storage_error(purpose, detail);
}

Result<int64_t> Database::query_int64(const std::string &sql, const std::string &purpose) {
  RF_ASSIGN_OR_RETURN(Statement stmt, prepare(sql, purpose));
  RF_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return storage_error(purpose, "query returned no row");
  return stmt.column_int64(0);
}

Result<std::string> Database::query_text(const std::string &sql, const std::string &purpose) {
  RF_ASSIGN_OR_RETURN(Statement stmt, prepare(sql, purpose));
  RF_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return storage_error(purpose, "query returned no row");
  return stmt.column_text(0);
}

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Database::changes() const { return sqlite3_changes(db_); }

}  // namespace radflow::storage
