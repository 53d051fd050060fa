// StoreWriter: the one thread that writes the database.
//
// Callers enqueue jobs (functions that write through the writer's Database).
// The thread takes everything queued at once and runs it in ONE transaction,
// each job inside its own SAVEPOINT: a failing job rolls back alone and reports
// its error, while the rest of the batch commits. Batching turns thousands of
// small log and metric appends per second into a few fsyncs.
//
// The queue is bounded (WriterLimits): when it holds max_queued_jobs jobs or
// max_queued_rows rows, submit_detached() blocks its caller until the thread
// has taken the queue, so a producer faster than the disk slows down instead of
// growing memory or dropping rows. Blocking submit()/run() never wait for room
// (their callers wait for the commit anyway), so state changes are never
// starved by a flood of logs. A job larger than the cap is admitted alone.
//
// A detached job that fails is logged and counted (failed_writes()); nothing
// fails silently.
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

struct WriterLimits {
  size_t max_queued_jobs = 10000;
  size_t max_queued_rows = 100000;  // log lines + metric points (other jobs count 1)
};

// A snapshot of the queue and its counters, for metrics and tests.
struct WriterStats {
  uint64_t queued_jobs = 0;  // waiting for the thread (not the batch in progress)
  uint64_t queued_rows = 0;
  uint64_t peak_queued_jobs = 0;  // high-water marks since start
  uint64_t peak_queued_rows = 0;
  uint64_t producer_waits = 0;  // times submit_detached() blocked for room
  uint64_t batches_committed = 0;
  uint64_t failed_writes = 0;  // detached jobs that failed
};

class StoreWriter {
 public:
  // A job returns a value for its caller (a new row id) or 0 when there is
  // none.
  using Job = std::function<Result<int64_t>(Database &)>;

  explicit StoreWriter(Database *db, WriterLimits limits = {});
  ~StoreWriter();
  StoreWriter(const StoreWriter &) = delete;
  StoreWriter &operator=(const StoreWriter &) = delete;

  // Runs `job`; the future is ready once the job's batch committed (or failed).
  std::future<Result<int64_t>> submit(Job job);
  // Blocking convenience over submit().
  Result<int64_t> run(Job job) { return submit(std::move(job)).get(); }
  // Fire and forget: a failure is logged under `purpose` and counted, nobody
  // waits for the commit. `rows` is the job's weight against the row cap.
  // Blocks while the queue is full.
  void submit_detached(Job job, std::string purpose, size_t rows = 1);
  // Runs `job` without waiting for it: `then` gets its result on the writer's
  // thread once its batch committed (or failed), before any later job's result
  // is handed out. `then` must be quick and must not wait for the writer.
  void submit_then(Job job, std::function<void(Result<int64_t>)> then);
  // Blocks until everything submitted before the call has committed.
  void flush();
  // Transactions committed so far: how tests and metrics see the batching.
  uint64_t batches_committed() const { return batches_committed_.load(); }
  // Detached jobs that failed (each also logged at error level).
  uint64_t failed_writes() const { return failed_writes_.load(); }
  WriterStats stats();

 private:
  struct Pending {
    Job job;
    std::shared_ptr<std::promise<Result<int64_t>>> done;  // null when detached
    std::function<void(Result<int64_t>)> then;            // submit_then's
    std::string purpose;
    size_t rows = 1;
  };

  void loop();
  void run_batch(std::vector<Pending> &batch);
  void enqueue_locked(Pending pending);  // caller holds mu_

  Database *db_;
  const WriterLimits limits_;
  std::mutex mu_;
  std::condition_variable wake_;  // the thread waits for work
  std::condition_variable room_;  // detached producers wait for room
  std::deque<Pending> queue_;
  size_t queued_rows_ = 0;
  size_t peak_jobs_ = 0;
  size_t peak_rows_ = 0;
  uint64_t producer_waits_ = 0;
  bool stopping_ = false;
  std::atomic<uint64_t> batches_committed_{0};
  std::atomic<uint64_t> failed_writes_{0};
  std::thread thread_;
};

}  // namespace radflow::storage
