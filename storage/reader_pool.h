// ReaderPool: the Store's read connections. Each read borrows one for as long
// as its statements run and gives it back when the Lease goes out of scope, so
// up to size() reads run at once: in WAL mode readers block neither each other
// nor the writer. A borrow waits while every connection is lent out.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/database.h"

namespace radflow::storage {

class ReaderPool {
 public:
  // `connections` must not be empty; the pool owns them from now on.
  explicit ReaderPool(std::vector<std::unique_ptr<Database>> connections);
  ReaderPool(const ReaderPool &) = delete;
  ReaderPool &operator=(const ReaderPool &) = delete;

  // One borrowed connection, returned to the pool on destruction.
  class Lease {
   public:
    Lease(Lease &&other) noexcept : pool_(other.pool_), db_(other.db_) { other.db_ = nullptr; }
    Lease &operator=(Lease &&) = delete;
    Lease(const Lease &) = delete;
    ~Lease() {
      if (db_ != nullptr) pool_->give_back(db_);
    }
    Database *operator->() const { return db_; }
    Database &operator*() const { return *db_; }

   private:
    friend class ReaderPool;
    Lease(ReaderPool *pool, Database *db) : pool_(pool), db_(db) {}
    ReaderPool *pool_;
    Database *db_;
  };

  Lease borrow();
  size_t size() const { return connections_.size(); }

  // Several statements on one lent connection that must agree (a page and its
  // count): one read transaction from construction to destruction, so they all
  // see the same committed state.
  class Snapshot {
   public:
    explicit Snapshot(Database &db);
    ~Snapshot();
    Snapshot(const Snapshot &) = delete;
    Snapshot &operator=(const Snapshot &) = delete;
    // The BEGIN's failure (say a lock held too long); without one the
    // statements would still run, each on a snapshot of its own.
    const Status &status() const { return begun_; }

   private:
    Database &db_;
    Status begun_;
  };

 private:
  void give_back(Database *db);

  std::vector<std::unique_ptr<Database>> connections_;
  std::mutex mu_;
  std::condition_variable returned_;
  std::vector<Database *> idle_;  // guarded by mu_
};

}  // namespace radflow::storage
