#include "storage/migrations.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "storage/store.h"
#include "tests/storage/temp_dir.h"

namespace radflow::storage {
namespace {

using testing::TempDir;

// Reads a PRAGMA through a connection of its own, as an outside tool would.
std::string pragma(const std::string &db_path, const std::string &name) {
  auto db = Database::open(db_path, Database::Mode::kReadWrite);
  EXPECT_TRUE(db.ok());
  auto value = (*db)->query_text("PRAGMA " + name, "read " + name);
  EXPECT_TRUE(value.ok()) << value.status().to_string();
  return value.ok() ? *value : "";
}

TEST(Migrations, FromEmptyReachLatestVersion) {
  TempDir dir;
  auto db = Database::open(dir.sub("fresh.db"), Database::Mode::kReadWrite);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(migrate(**db).ok());
  auto version = (*db)->query_int64("PRAGMA user_version", "version");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, latest_schema_version());
  EXPECT_GE(latest_schema_version(), 1);
  auto tables = (*db)->query_int64(
      "SELECT COUNT(*) FROM sqlite_master WHERE type = "
      "'table' AND name IN ('runs', 'steps', "
      "'step_inputs', 'attempts', 'logs', 'metrics', "
      "'artifacts', 'attempt_inputs', "
      "'plugin_descriptors')",
      "count tables");
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(*tables, 9);
  // Running again is a no-op, not a "table exists" failure.
  EXPECT_TRUE(migrate(**db).ok());
}

// A step's curves (Store::metric_series) read the chosen attempt's points in
// series order from an index alone: no table rows and no sort, however long the
// series. Before migration 9 every request sorted all of the step's rows.
TEST(Migrations, MetricSeriesWalkReadsOneIndexWithoutSorting) {
  TempDir dir;
  auto db = Database::open(dir.sub("plan.db"), Database::Mode::kReadWrite);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(migrate(**db).ok());
  auto plan = (*db)->prepare(
      "EXPLAIN QUERY PLAN SELECT rowid, name FROM metrics WHERE step_id = 1 AND "
      "attempt_id IS 2 ORDER BY name, iteration, rowid",
      "plan");
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  std::string detail;
  while (*plan->step()) detail += plan->column_text(3) + "\n";
  EXPECT_NE(detail.find("COVERING INDEX metrics_by_attempt"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("TEMP B-TREE"), std::string::npos) << detail;
}

TEST(Migrations, RefusesNewerDatabase) {
  TempDir dir;
  auto db = Database::open(dir.sub("future.db"), Database::Mode::kReadWrite);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->exec("PRAGMA user_version = 999", "bump").ok());
  Status status = migrate(**db);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), "storage_error");
  EXPECT_NE(status.message().find("999"), std::string::npos);
}

TEST(Migrations, ReopenKeepsDataAndVersion) {
  TempDir dir;
  int64_t run_id = 0;
  {
    auto store = Store::open(dir.path());
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    auto id = (*store)->create_run(NewRun{"kept", "{\"steps\":[]}", "{}", {}});
    ASSERT_TRUE(id.ok());
    run_id = *id;
  }
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto run = (*store)->get_run(run_id);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  EXPECT_EQ(run->name, "kept");
  EXPECT_EQ(run->workflow_json, "{\"steps\":[]}");
  EXPECT_EQ(pragma(dir.sub("radflow.db"), "user_version"), std::to_string(latest_schema_version()));
}

TEST(Migrations, OpenSetsWalMode) {
  TempDir dir;
  auto store = Store::open(dir.sub("nested/data"));  // data_dir created when missing
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_EQ((*store)->database_path(), dir.sub("nested/data") + "/radflow.db");
  EXPECT_EQ(pragma((*store)->database_path(), "journal_mode"), "wal");
}

TEST(Migrations, OpenFailsAsStorageErrorOnUnusablePath) {
  TempDir dir;
  testing::write_file(dir.sub("not_a_dir"), "x");
  auto store = Store::open(dir.sub("not_a_dir"));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), "storage_error");
}

}  // namespace
}  // namespace radflow::storage

namespace radflow::storage {
namespace {

// A version-3 database with the duplicates old builds could write.
TEST(Migrations, UniqueConstraintsKeepLowestIdAndMoveReferences) {
  TempDir dir;
  const std::string path = dir.sub("radflow.db");
  {
    auto db = Database::open(path, Database::Mode::kReadWrite);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(migrate_to(**db, 3).ok());
    ASSERT_TRUE((*db)->exec(R"sql(
INSERT INTO runs (id, name, status, workflow_json, params_json, created_ms)
  VALUES (1, 'r', 'succeeded', '{"tags":["a","b"]}', '{}', 1),
         (2, 'plain', 'failed', 'not json', '{}', 1);
INSERT INTO steps (id, run_id, name, plugin, plugin_version, params_json, resources_json,
                   retries, timeout_s, cache, priority, position, status)
  VALUES (10, 1, 's', 'p', '1', '{}', '{}', 0, 0, 1, 0, 0, 'succeeded');
INSERT INTO attempts (id, step_id, number, status, started_ms)
  VALUES (100, 10, 1, 'lost', 1), (101, 10, 1, 'succeeded', 1), (102, 10, 2, 'succeeded', 1);
INSERT INTO logs (step_id, attempt_id, ts_ms, level, stream, message)
  VALUES (10, 101, 1, 'info', 'plugin', 'from the duplicate');
INSERT INTO metrics (step_id, attempt_id, name, iteration, value) VALUES (10, 101, 'loss', 0, 1);
INSERT INTO artifacts (id, digest, kind, size_bytes, created_ms, producer_attempt_id, step_id,
                       output_name)
  VALUES (1000, 'd1', 'file', 1, 1, 101, 10, 'model'),
         (1001, 'd1', 'file', 1, 1, 100, 10, 'model'),
         (1002, 'd2', 'file', 1, 1, 102, 10, 'model');
INSERT INTO attempt_inputs (attempt_id, input_name, artifact_id)
  VALUES (102, 'x', 1001), (101, 'y', 1000);
)sql",
                            "seed duplicates")
                    .ok());
  }
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  auto attempts = (*store)->attempts_of_step(10);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].id, 100);  // the lowest id of number 1 stays
  EXPECT_EQ((*attempts)[1].id, 102);
  auto logs = (*store)->logs_of_step(10, 0, 10);
  ASSERT_EQ(logs->size(), 1u);
  EXPECT_EQ((*logs)[0].attempt_id, 100);  // moved, not lost
  EXPECT_EQ((*store)->metrics_of_step(10)->at(0).attempt_id, 100);
  // 1000 and 1001 were both attempt 1's "model" once 101 folded into 100.
  EXPECT_EQ((*store)->get_artifact(1001).status().code(), "not_found");
  EXPECT_EQ((*store)->get_artifact(1000)->producer_attempt_id, 100);
  auto inputs = (*store)->inputs_of_attempt(102);
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].artifact.id, 1000);
  EXPECT_EQ((*store)->inputs_of_attempt(100)->size(), 1u);  // 101's input moved over
  // The constraints hold from now on.
  EXPECT_FALSE((*store)->create_attempt(10, 2, "").ok());
  // Tags were copied out of the submitted workflow.
  EXPECT_EQ((*store)->get_run(1)->tags_json, R"(["a","b"])");
  EXPECT_EQ((*store)->get_run(2)->tags_json, "[]");
  EXPECT_FALSE((*store)->get_run(1)->cancel_requested);
}

}  // namespace
}  // namespace radflow::storage
