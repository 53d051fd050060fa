// StoreWriter: the one thread that writes the database.
//
// Callers enqueue jobs (functions that write through the writer's Database).
// The thread takes everything queued at once and runs it in ONE transaction,
// each job inside its own SAVEPOINT: a failing job rolls back alone and reports
// its error, while the rest of the batch commits. Batching turns thousands of
// small log and metric appends per second into a few fsyncs.
//
// Owns the thread, borrows the Database (which must outlive it and must not be
// used by anyone else while the writer runs). Thread-safe: any thread may
// submit. The destructor runs every job already queued, then joins.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace radflow::storage {

class StoreWriter {
 public:
  // A job returns a value for its caller (a new row id) or 0 when there is
  // none.
  using Job = std::function<Result<int64_t>(Database &)>;

  explicit StoreWriter(Database *db);
  ~StoreWriter();
  StoreWriter(const StoreWriter &) = delete;
  StoreWriter &operator=(const StoreWriter &) = delete;

  // Runs `job`; the future is ready once the job's batch committed (or failed).
  std::future<Result<int64_t>> submit(Job job);
  // Blocking convenience over submit().
  Result<int64_t> run(Job job) { return submit(std::move(job)).get(); }
  // Fire and forget: a failure is logged under `purpose`, nobody waits.
  void submit_detached(Job job, std::string purpose);
  // Blocks until everything submitted before the call has committed.
  void flush();
  // Transactions committed so far: how tests and metrics see the batching.
  uint64_t batches_committed() const { return batches_committed_.load(); }

 private:
  struct Pending {
    Job job;
    std::shared_ptr<std::promise<Result<int64_t>>> done;  // null when detached
    std::string purpose;
  };

  void loop();
  void run_batch(std::vector<Pending> &batch);

  Database *db_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::atomic<uint64_t> batches_committed_{0};
  std::thread thread_;
};

}  // namespace radflow::storage
