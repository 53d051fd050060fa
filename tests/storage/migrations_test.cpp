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
