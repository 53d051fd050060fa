// Store: API tokens (their sha256 only) and the audit log. Writes are writer
// jobs like every other; reads share the read connection.
#include <memory>

#include "storage/database.h"
#include "storage/reader_pool.h"
#include "storage/store.h"
#include "storage/store_writer.h"

namespace radflow::storage {

namespace {

constexpr const char *kTokenColumns =
    "SELECT id, name, role, hash, created_ms, revoked_ms FROM tokens ";

TokenRecord read_token(const Statement &s) {
  TokenRecord t;
  t.id = s.column_int64(0);
  t.name = s.column_text(1);
  t.role = s.column_text(2);
  t.hash = s.column_text(3);
  t.created_ms = s.column_int64(4);
  t.revoked_ms = s.column_int64(5);
  return t;
}

AuditRecord read_audit(const Statement &s) {
  AuditRecord r;
  r.id = s.column_int64(0);
  r.ts_ms = s.column_int64(1);
  r.actor = s.column_text(2);
  r.role = s.column_text(3);
  r.action = s.column_text(4);
  r.target = s.column_text(5);
  r.details_json = s.column_text(6);
  return r;
}

}  // namespace

Result<int64_t> Store::create_token(const TokenRecord &token) {
  return writer_->run([=](Database &db) -> Result<int64_t> {
    RF_ASSIGN_OR_RETURN(Statement taken,
                        db.prepare("SELECT COUNT(*) FROM tokens WHERE name = ? OR hash = ?",
                                   "check token name"));
    RF_RETURN_IF_ERROR(taken.bind(1, token.name).bind(2, token.hash).step().status());
    if (taken.column_int64(0) > 0) {
      return Status::error("conflict", "a token named " + token.name +
                                           " exists (revoked ones keep their name); "
                                           "choose another name");
    }
    RF_ASSIGN_OR_RETURN(Statement insert,
                        db.prepare("INSERT INTO tokens (name, role, hash, created_ms) "
                                   "VALUES (?, ?, ?, ?)",
                                   "create token"));
    RF_RETURN_IF_ERROR(insert.bind(1, token.name)
                           .bind(2, token.role)
                           .bind(3, token.hash)
                           .bind(4, token.created_ms != 0 ? token.created_ms : now_ms())
                           .run());
    return db.last_insert_rowid();
  });
}

Status Store::revoke_token(const std::string &name) {
  return writer_
      ->run([=](Database &db) -> Result<int64_t> {
        RF_ASSIGN_OR_RETURN(Statement stmt,
                            db.prepare("UPDATE tokens SET revoked_ms = ? WHERE name = ? AND "
                                       "revoked_ms IS NULL",
                                       "revoke token"));
        RF_RETURN_IF_ERROR(stmt.bind(1, now_ms()).bind(2, name).run());
        if (db.changes() == 0) {
          return Status::error("not_found", "no active token named " + name +
                                                " (see radflowd token list)");
        }
        return int64_t{0};
      })
      .status();
}

Result<std::vector<TokenRecord>> Store::list_tokens() {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare(std::string(kTokenColumns) + "ORDER BY name",
                                        "list tokens"));
  return collect<TokenRecord>(stmt, read_token);
}

Result<std::vector<TokenRecord>> Store::active_tokens() {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare(std::string(kTokenColumns) +
                                            "WHERE revoked_ms IS NULL ORDER BY id",
                                        "read active tokens"));
  return collect<TokenRecord>(stmt, read_token);
}

Status Store::append_audit(const AuditRecord &record) {
  return writer_
      ->run([=](Database &db) -> Result<int64_t> {
        RF_ASSIGN_OR_RETURN(Statement stmt,
                            db.prepare("INSERT INTO audit_log (ts_ms, actor, role, action, "
                                       "target, details_json) VALUES (?, ?, ?, ?, ?, ?)",
                                       "append audit record"));
        RF_RETURN_IF_ERROR(stmt.bind(1, record.ts_ms != 0 ? record.ts_ms : now_ms())
                               .bind(2, record.actor)
                               .bind(3, record.role)
                               .bind(4, record.action)
                               .bind(5, record.target)
                               .bind(6, record.details_json)
                               .run());
        return db.last_insert_rowid();
      })
      .status();
}

Result<std::vector<AuditRecord>> Store::list_audit(int limit, int64_t before_id) {
  ReaderPool::Lease read_db = readers_->borrow();
  RF_ASSIGN_OR_RETURN(Statement stmt,
                      read_db->prepare("SELECT id, ts_ms, actor, role, action, target, "
                                        "details_json FROM audit_log WHERE (?1 = 0 OR id < ?1) "
                                        "ORDER BY id DESC LIMIT ?2",
                                        "list audit log"));
  stmt.bind(1, before_id).bind(2, static_cast<int64_t>(limit));
  return collect<AuditRecord>(stmt, read_audit);
}

}  // namespace radflow::storage
