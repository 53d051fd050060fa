#include "storage/reader_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "storage/store.h"
#include "tests/storage/temp_dir.h"

namespace radflow::storage {
namespace {

using testing::TempDir;

std::vector<std::unique_ptr<Database>> connections(const std::string &path, int n) {
  std::vector<std::unique_ptr<Database>> out;
  for (int i = 0; i < n; ++i) {
    auto db = Database::open(path, Database::Mode::kReadWrite);
    EXPECT_TRUE(db.ok()) << db.status().to_string();
    if (db.ok()) out.push_back(std::move(*db));
  }
  return out;
}

TEST(ReaderPool, LendsEveryConnectionAtOnce) {
  TempDir dir;
  ReaderPool pool(connections(dir.sub("r.db"), 3));
  ASSERT_EQ(pool.size(), 3u);
  ReaderPool::Lease a = pool.borrow();
  ReaderPool::Lease b = pool.borrow();
  ReaderPool::Lease c = pool.borrow();
  EXPECT_NE(&*a, &*b);
  EXPECT_NE(&*b, &*c);
  EXPECT_NE(&*a, &*c);
  // Each lent connection answers while the others are lent too.
  for (Database *db : {&*a, &*b, &*c}) EXPECT_EQ(*db->query_int64("SELECT 7", "seven"), 7);
}

TEST(ReaderPool, ABorrowWaitsUntilAConnectionComesBack) {
  TempDir dir;
  ReaderPool pool(connections(dir.sub("r.db"), 1));
  std::atomic<bool> borrowed{false};
  std::thread other;
  Database *first = nullptr;
  {
    ReaderPool::Lease held = pool.borrow();
    first = &*held;
    other = std::thread([&] {
      ReaderPool::Lease lease = pool.borrow();
      borrowed = true;
      EXPECT_EQ(&*lease, first);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(borrowed) << "a second borrow got a connection while the only one was lent";
  }
  other.join();
  EXPECT_TRUE(borrowed);
  ReaderPool::Lease again = pool.borrow();  // returned by the other thread
  EXPECT_EQ(&*again, first);
}

TEST(ReaderPool, AStoreRefusesFewerThanOneReadConnection) {
  TempDir dir;
  StoreOptions options;
  options.read_connections = 0;
  auto store = Store::open(dir.path(), options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), "invalid_argument");
  EXPECT_NE(store.status().message().find("read_connections"), std::string::npos);
}

// Reads on many threads at once, while the writer commits: every read sees a
// committed state (a run exists once it was added) and none fails.
TEST(ReaderPool, StoreReadsRunConcurrentlyWithTheWriter) {
  TempDir dir;
  StoreOptions options;
  options.read_connections = 3;
  auto store = Store::open(dir.path(), options);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  std::atomic<int64_t> newest{0};
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 6; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        const int64_t id = newest;
        if (id == 0) continue;
        auto run = (*store)->get_run(id);
        if (!run.ok() || run->id != id) ++failures;
        auto listed = (*store)->count_runs(std::nullopt);
        if (!listed.ok() || *listed < id) ++failures;
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    NewRun run;
    run.name = "r" + std::to_string(i);
    run.workflow_json = "{}";
    auto id = (*store)->create_run(run);
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    newest = *id;
  }
  stop = true;
  for (auto &t : readers) t.join();
  EXPECT_EQ(failures, 0);
}

// Statements inside one Snapshot agree with each other: a commit made after the
// snapshot's first read shows only after the snapshot ends.
TEST(ReaderPool, ASnapshotsStatementsSeeOneCommittedState) {
  TempDir dir;
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  NewRun run;
  run.name = "first";
  run.workflow_json = "{}";
  ASSERT_TRUE((*store)->create_run(run).ok());
  auto reader = Database::open(dir.sub("radflow.db"), Database::Mode::kReadWrite);
  ASSERT_TRUE(reader.ok());
  const std::string count = "SELECT COUNT(*) FROM runs";
  {
    ReaderPool::Snapshot snapshot(**reader);
    ASSERT_TRUE(snapshot.status().ok()) << snapshot.status().to_string();
    EXPECT_EQ(*(*reader)->query_int64(count, "count"), 1);
    run.name = "second";
    ASSERT_TRUE((*store)->create_run(run).ok());  // the writer is not held up by the snapshot
    EXPECT_EQ(*(*reader)->query_int64(count, "count"), 1);
  }
  EXPECT_EQ(*(*reader)->query_int64(count, "count"), 2);
}

}  // namespace
}  // namespace radflow::storage
