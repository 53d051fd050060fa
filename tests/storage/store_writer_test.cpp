#include "storage/store_writer.h"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.h"
#include "tests/storage/temp_dir.h"
#include "tests/storage/test_runs.h"

namespace radflow::storage {
namespace {

using testing::make_step;
using testing::TempDir;

TEST(StoreWriter, ManyThreadsAppendLogsExactlyOnceInOrder) {
  TempDir dir;
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store.ok());
  const int64_t step = make_step(**store);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        (*store)->append_logs({LogRecord{0, step, 0, 1, "info", "stdout",
                                         std::to_string(t) + ":" + std::to_string(i)}});
      }
    });
  }
  for (auto &thread : threads) thread.join();
  (*store)->flush();

  auto logs = (*store)->logs_of_step(step, 0, 100000);
  ASSERT_TRUE(logs.ok());
  ASSERT_EQ(logs->size(), static_cast<size_t>(kThreads * kPerThread));
  // Ids increase, and each thread's lines keep the order that thread wrote them
  // in.
  std::vector<int> next(kThreads, 0);
  for (size_t i = 0; i < logs->size(); ++i) {
    if (i > 0) {
      ASSERT_GT((*logs)[i].id, (*logs)[i - 1].id);
    }
    const std::string &message = (*logs)[i].message;
    int thread = std::stoi(message.substr(0, message.find(':')));
    int line = std::stoi(message.substr(message.find(':') + 1));
    ASSERT_EQ(line, next[thread]) << "thread " << thread;
    ++next[thread];
  }
}

TEST(StoreWriter, FailedJobRollsBackAloneInItsBatch) {
  TempDir dir;
  auto db = Database::open(dir.sub("w.db"), Database::Mode::kReadWrite);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->exec("CREATE TABLE t (v INTEGER UNIQUE)", "create").ok());
  std::vector<std::future<Result<int64_t>>> results;
  {
    StoreWriter writer(db->get());
    // Hold the writer inside a first job so the next four land in one batch.
    std::promise<void> gate;
    std::shared_future<void> opened = gate.get_future().share();
    results.push_back(writer.submit([opened](Database &) -> Result<int64_t> {
      opened.wait();
      return int64_t{0};
    }));
    auto insert = [](int v) {
      return [v](Database &d) -> Result<int64_t> {
        RF_ASSIGN_OR_RETURN(Statement s, d.prepare("INSERT INTO t (v) VALUES (?)", "insert v"));
        RF_RETURN_IF_ERROR(s.bind(1, v).run());
        return d.last_insert_rowid();
      };
    };
    // Half-done work of a failing job must vanish: it inserts 3, then fails
    // on 1.
    auto failing = [](Database &d) -> Result<int64_t> {
      RF_RETURN_IF_ERROR(d.exec("INSERT INTO t (v) VALUES (3)", "insert 3"));
      RF_RETURN_IF_ERROR(d.exec("INSERT INTO t (v) VALUES (1)", "insert duplicate"));
      return int64_t{0};
    };
    results.push_back(writer.submit(insert(1)));
    results.push_back(writer.submit(failing));
    results.push_back(writer.submit(insert(2)));
    writer.submit_detached(insert(4), "insert 4");
    gate.set_value();
    // No flush: the destructor must drain the detached job too.
  }
  EXPECT_TRUE(results[0].get().ok());
  EXPECT_TRUE(results[1].get().ok());
  Result<int64_t> failed = results[2].get();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), "storage_error");
  EXPECT_NE(failed.status().message().find("insert duplicate"), std::string::npos);
  EXPECT_TRUE(results[3].get().ok());
  auto count = (*db)->query_int64("SELECT COUNT(*) FROM t", "count");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3);  // 1, 2 and 4; not 3
  auto sum = (*db)->query_int64("SELECT SUM(v) FROM t", "sum");
  EXPECT_EQ(*sum, 7);
}

// submit_then's answers come on the writer's thread after the commit (a second
// connection already sees the row), in submission order, a refused job's included,
// and before any later blocking submit() returns.
TEST(StoreWriter, SubmitThenAnswersOnceCommittedInSubmissionOrder) {
  TempDir dir;
  const std::string path = dir.sub("w.db");
  auto db = Database::open(path, Database::Mode::kReadWrite);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->exec("CREATE TABLE t (v INTEGER UNIQUE)", "create").ok());
  auto reader = Database::open(path, Database::Mode::kReadOnly);
  ASSERT_TRUE(reader.ok());
  auto insert = [](int v) {
    return [v](Database &d) -> Result<int64_t> {
      RF_ASSIGN_OR_RETURN(Statement s, d.prepare("INSERT INTO t (v) VALUES (?)", "insert v"));
      RF_RETURN_IF_ERROR(s.bind(1, v).run());
      return int64_t{v};
    };
  };
  std::mutex mutex;
  std::vector<std::string> heard;
  auto answer = [&](const std::string &name) {
    return [&, name](Result<int64_t> result) {
      std::string what = name + ":";
      if (result.ok()) {
        auto seen = (*reader)->query_int64(
            "SELECT COUNT(*) FROM t WHERE v = " + std::to_string(*result), "count");
        what += seen.ok() && *seen == 1 ? "committed" : "not visible";
      } else {
        what += result.status().code();
      }
      std::lock_guard<std::mutex> lock(mutex);
      heard.push_back(what);
    };
  };
  {
    StoreWriter writer(db->get());
    // Hold the writer inside a first job so that the rest land in one batch.
    std::promise<void> gate;
    std::shared_future<void> opened = gate.get_future().share();
    writer.submit_detached(
        [opened](Database &) -> Result<int64_t> {
          opened.wait();
          return int64_t{0};
        },
        "gate");
    writer.submit_then(insert(1), answer("one"));
    writer.submit_then(insert(1), answer("duplicate"));
    auto two = writer.submit(insert(2));
    writer.submit_then(insert(3), answer("three"));
    gate.set_value();
    ASSERT_TRUE(two.get().ok());
    {
      // The answers of the jobs before it came first (three's may follow at once).
      std::lock_guard<std::mutex> lock(mutex);
      ASSERT_GE(heard.size(), 2u);
      EXPECT_EQ(std::vector<std::string>(heard.begin(), heard.begin() + 2),
                (std::vector<std::string>{"one:committed", "duplicate:storage_error"}));
    }
  }
  EXPECT_EQ(heard, (std::vector<std::string>{"one:committed", "duplicate:storage_error",
                                             "three:committed"}));
}

TEST(StoreWriter, BatchesEverythingQueuedIntoOneTransaction) {
  TempDir dir;
  auto db = Database::open(dir.sub("b.db"), Database::Mode::kReadWrite);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->exec("CREATE TABLE t (v INTEGER)", "create").ok());
  uint64_t batches = 0;
  {
    StoreWriter writer(db->get());
    std::promise<void> gate;
    std::shared_future<void> opened = gate.get_future().share();
    auto held = writer.submit([opened](Database &) -> Result<int64_t> {
      opened.wait();
      return int64_t{0};
    });
    for (int i = 0; i < 200; ++i) {
      writer.submit_detached(
          [i](Database &d) -> Result<int64_t> {
            RF_RETURN_IF_ERROR(
                d.exec("INSERT INTO t (v) VALUES (" + std::to_string(i) + ")", "insert"));
            return int64_t{0};
          },
          "insert");
    }
    gate.set_value();
    writer.flush();
    EXPECT_TRUE(held.get().ok());
    batches = writer.batches_committed();
  }
  // At most: the gate's batch, one for the 200 inserts queued while it was held,
  // one for flush's marker (fewer when the writer woke late and took more at once).
  EXPECT_LE(batches, 3u);
  EXPECT_GE(batches, 1u);
  EXPECT_EQ(*(*db)->query_int64("SELECT COUNT(*) FROM t", "count"), 200);
}

TEST(StoreWriter, DestructorCommitsQueuedFireAndForgetWrites) {
  TempDir dir;
  int64_t step = 0;
  {
    auto store = Store::open(dir.path());
    ASSERT_TRUE(store.ok());
    step = make_step(**store);
    for (int i = 0; i < 100; ++i) {
      (*store)->append_metrics({MetricPoint{step, 0, "loss", i, 1.0 / (i + 1)}});
    }
  }
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store.ok());
  auto metrics = (*store)->metrics_of_step(step);
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->size(), 100u);
}


// Another connection holding the write lock past the busy timeout: blocking
// writes fail with storage_error, detached ones are counted; both recover.
TEST(StoreWriter, BusyDatabaseFailsVisibly) {
  TempDir dir;
  StoreOptions options;
  options.busy_timeout_ms = 50;
  auto store = Store::open(dir.path(), options);
  ASSERT_TRUE(store.ok());
  const int64_t step = make_step(**store);
  const int64_t run = (*store)->get_step(step)->run_id;
  sqlite3 *other = nullptr;
  ASSERT_EQ(sqlite3_open((*store)->database_path().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  Status blocked = (*store)->set_run_status(run, "running", "");
  EXPECT_EQ(blocked.code(), "storage_error");
  EXPECT_NE(blocked.message().find("locked"), std::string::npos) << blocked.message();
  EXPECT_EQ((*store)->failed_writes(), 0u);
  (*store)->append_logs({LogRecord{0, step, 0, 1, "info", "stdout", "lost?"}});
  (*store)->append_metrics({MetricPoint{step, 0, "loss", 0, 1.0}});
  (*store)->flush();
  EXPECT_EQ((*store)->failed_writes(), 2u);

  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_TRUE((*store)->set_run_status(run, "running", "").ok());
  (*store)->append_logs({LogRecord{0, step, 0, 1, "info", "stdout", "kept"}});
  (*store)->flush();
  EXPECT_EQ((*store)->logs_of_step(step, 0, 10)->size(), 1u);
  EXPECT_EQ((*store)->failed_writes(), 2u);
}

// A producer faster than the commits: it waits for room instead of growing the
// queue past the cap, nothing is dropped, and a blocking write queued while the
// queue is full still goes through.
TEST(StoreWriter, FullQueueBlocksProducersWithoutDroppingRows) {
  TempDir dir;
  auto db = Database::open(dir.sub("q.db"), Database::Mode::kReadWrite);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->exec("CREATE TABLE t (v INTEGER)", "create").ok());
  constexpr size_t kCapRows = 500;
  constexpr int kJobs = 400, kRowsPerJob = 10;
  {
    StoreWriter writer(db->get(), WriterLimits{1000, kCapRows});
    std::promise<void> gate;
    std::shared_future<void> opened = gate.get_future().share();
    auto held = writer.submit([opened](Database &) -> Result<int64_t> {
      opened.wait();
      return int64_t{0};
    });
    while (writer.stats().queued_jobs != 0) std::this_thread::yield();  // gate job taken
    std::atomic<int> submitted{0};
    std::thread producer([&] {
      for (int j = 0; j < kJobs; ++j) {
        writer.submit_detached(
            [j](Database &d) -> Result<int64_t> {
              for (int r = 0; r < kRowsPerJob; ++r) {
                RF_RETURN_IF_ERROR(d.exec(
                    "INSERT INTO t (v) VALUES (" + std::to_string(j * kRowsPerJob + r) + ")",
                    "insert"));
              }
              return int64_t{0};
            },
            "insert rows", kRowsPerJob);
        submitted.fetch_add(1);
      }
    });
    // The producer fills the queue to the cap and waits there.
    while (writer.stats().producer_waits == 0) std::this_thread::yield();
    WriterStats full = writer.stats();
    EXPECT_EQ(full.queued_rows, kCapRows);
    EXPECT_EQ(submitted.load(), static_cast<int>(kCapRows / kRowsPerJob));
    auto urgent = writer.submit([](Database &d) -> Result<int64_t> {
      RF_RETURN_IF_ERROR(d.exec("INSERT INTO t (v) VALUES (-1)", "urgent"));
      return int64_t{7};
    });
    gate.set_value();
    EXPECT_EQ(*urgent.get(), 7);
    producer.join();
    writer.flush();
    EXPECT_TRUE(held.get().ok());
    WriterStats end = writer.stats();
    EXPECT_LE(end.peak_queued_rows, kCapRows + 1);  // + the urgent blocking write
    EXPECT_EQ(end.failed_writes, 0u);
    EXPECT_EQ(end.queued_jobs, 0u);
  }
  EXPECT_EQ(*(*db)->query_int64("SELECT COUNT(*) FROM t", "count"), kJobs * kRowsPerJob + 1);
  EXPECT_EQ(*(*db)->query_int64("SELECT COUNT(DISTINCT v) FROM t", "distinct"),
            kJobs * kRowsPerJob + 1);
}

}  // namespace
}  // namespace radflow::storage
