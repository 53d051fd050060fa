#include "storage/reader_pool.h"

namespace radflow::storage {

ReaderPool::ReaderPool(std::vector<std::unique_ptr<Database>> connections)
    : connections_(std::move(connections)) {
  for (const auto &db : connections_) idle_.push_back(db.get());
}

ReaderPool::Lease ReaderPool::borrow() {
  std::unique_lock<std::mutex> lock(mu_);
  returned_.wait(lock, [this] { return !idle_.empty(); });
  Database *db = idle_.back();
  idle_.pop_back();
  return Lease(this, db);
}

void ReaderPool::give_back(Database *db) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(db);
  }
  returned_.notify_one();
}

ReaderPool::Snapshot::Snapshot(Database &db)
    : db_(db), begun_(db.exec("BEGIN", "begin read snapshot")) {}

ReaderPool::Snapshot::~Snapshot() {
  // Ending a read-only transaction cannot lose anything; a failure here would
  // leave the connection in a transaction, so roll back as a last resort.
  if (begun_.ok() && !db_.exec("COMMIT", "end read snapshot").ok()) {
    (void)db_.exec("ROLLBACK", "abandon read snapshot");
  }
}

}  // namespace radflow::storage
