#include "storage/store_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "common/metrics.h"
#include "common/thread_name.h"

namespace radflow::storage {

namespace {

constexpr const char* kWriteSeconds = "radflow_db_write_seconds";
constexpr const char* kWriteBatches = "radflow_db_write_batches_total";

// Declared at start so that /metrics lists them before the first write.
const bool kMetricsDeclared = [] {
  auto& r = metrics::Registry::global();
  r.declare(kWriteSeconds, metrics::Type::kHistogram,
            "Time the database writer took per batch (one transaction of queued jobs).",
            {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
  r.declare(kWriteBatches, metrics::Type::kCounter,
            "Write batches of the database writer, by result (committed, failed).");
  return true;
}();

}  // namespace

StoreWriter::StoreWriter(Database *db, WriterLimits limits) : db_(db), limits_(limits) {
  thread_ = std::thread([this] {
    name_this_thread("rf-db-writer");
    loop();
  });
}

StoreWriter::~StoreWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void StoreWriter::enqueue_locked(Pending pending) {
  queued_rows_ += pending.rows;
  queue_.push_back(std::move(pending));
  peak_jobs_ = std::max(peak_jobs_, queue_.size());
  peak_rows_ = std::max(peak_rows_, queued_rows_);
}

std::future<Result<int64_t>> StoreWriter::submit(Job job) {
  auto done = std::make_shared<std::promise<Result<int64_t>>>();
  std::future<Result<int64_t>> future = done->get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    enqueue_locked(Pending{std::move(job), std::move(done), {}, {}, 1});
  }
  wake_.notify_one();
  return future;
}

void StoreWriter::submit_then(Job job, std::function<void(Result<int64_t>)> then) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    enqueue_locked(Pending{std::move(job), nullptr, std::move(then), {}, 1});
  }
  wake_.notify_one();
}

void StoreWriter::submit_detached(Job job, std::string purpose, size_t rows) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto has_room = [&] {
      // An empty queue admits anything, so one oversized job cannot wait forever.
      return queue_.empty() || (queue_.size() < limits_.max_queued_jobs &&
                                queued_rows_ + rows <= limits_.max_queued_rows);
    };
    if (!has_room()) {
      ++producer_waits_;
      wake_.notify_one();
      room_.wait(lock, has_room);
    }
    enqueue_locked(Pending{std::move(job), nullptr, {}, std::move(purpose), rows});
  }
  wake_.notify_one();
}

WriterStats StoreWriter::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  WriterStats stats;
  stats.queued_jobs = queue_.size();
  stats.queued_rows = queued_rows_;
  stats.peak_queued_jobs = peak_jobs_;
  stats.peak_queued_rows = peak_rows_;
  stats.producer_waits = producer_waits_;
  stats.batches_committed = batches_committed_.load();
  stats.failed_writes = failed_writes_.load();
  return stats;
}

void StoreWriter::flush() {
  // Jobs run in queue order and batches commit in order, so an empty job's
  // commit implies every earlier job's.
  (void)run([](Database &) -> Result<int64_t> { return int64_t{0}; });
}

void StoreWriter::loop() {
  std::vector<Pending> batch;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing is left to drain
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
      queued_rows_ = 0;
    }
    room_.notify_all();
    run_batch(batch);
    batch.clear();
  }
}

void StoreWriter::run_batch(std::vector<Pending> &batch) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::optional<Result<int64_t>>> results(batch.size());
  Status txn = db_->exec("BEGIN IMMEDIATE", "begin write batch");
  if (txn.ok()) {
    for (size_t i = 0; i < batch.size(); ++i) {
      Status savepoint = db_->exec("SAVEPOINT job", "begin job savepoint");
      if (!savepoint.ok()) {
        results[i].emplace(savepoint);
        continue;
      }
      Result<int64_t> result = batch[i].job(*db_);
      if (!result.ok()) (void)db_->exec("ROLLBACK TO job", "roll back failed job");
      Status released = db_->exec("RELEASE job", "release job savepoint");
      results[i].emplace(released.ok() || !result.ok() ? std::move(result)
                                                       : Result<int64_t>(released));
    }
    txn = db_->exec("COMMIT", "commit write batch");
    if (txn.ok()) {
      batches_committed_.fetch_add(1);
    } else {
      (void)db_->exec("ROLLBACK", "roll back write batch");
    }
  }
  (void)kMetricsDeclared;
  metrics::Registry::global().observe(
      kWriteSeconds, {},
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  metrics::Registry::global().add(kWriteBatches, {{"result", txn.ok() ? "committed" : "failed"}});
  for (size_t i = 0; i < batch.size(); ++i) {
    // A batch that did not commit fails every job in it, even those that ran.
    Result<int64_t> result = txn.ok() ? std::move(*results[i]) : Result<int64_t>(txn);
    if (batch[i].done) {
      batch[i].done->set_value(std::move(result));
    } else if (batch[i].then) {
      batch[i].then(std::move(result));
    } else if (!result.ok()) {
      failed_writes_.fetch_add(1);
      spdlog::error("storage: {} failed: {}", batch[i].purpose, result.status().to_string());
    }
  }
}

}  // namespace radflow::storage
