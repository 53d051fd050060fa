// Migration 7: the run manifest is stored with its run, in the same transaction,
// read back verbatim, absent for runs created without one (and for runs of a
// database migrated from version 6), and deleted with the run.
#include <gtest/gtest.h>

#include "storage/migrations.h"
#include "storage/store.h"
#include "tests/storage/temp_dir.h"
#include "tests/storage/test_runs.h"

namespace radflow::storage {
namespace {

using testing::one_step_run;
using testing::TempDir;

TEST(RunManifest, StoredWithTheRunAndReadBackVerbatim) {
  TempDir dir;
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  NewRun run = one_step_run("replayable");
  run.manifest_json = R"({"schema":1,"steps":[{"name":"s","plugin_sha256":"ab"}]})";
  auto run_id = (*store)->create_run(run);
  ASSERT_TRUE(run_id.ok()) << run_id.status().to_string();
  auto manifest = (*store)->get_run_manifest(*run_id);
  ASSERT_TRUE(manifest.ok()) << manifest.status().to_string();
  EXPECT_EQ(*manifest, run.manifest_json);
}

TEST(RunManifest, RunWithoutOneIsNotFoundNamingTheRun) {
  TempDir dir;
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store.ok());
  auto run_id = (*store)->create_run(one_step_run());
  ASSERT_TRUE(run_id.ok());
  auto manifest = (*store)->get_run_manifest(*run_id);
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.status().code(), "not_found");
  EXPECT_NE(manifest.status().message().find("run " + std::to_string(*run_id)), std::string::npos);
}

TEST(RunManifest, AFailedCreateRunLeavesNoManifest) {
  TempDir dir;
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store.ok());
  NewRun run = one_step_run();
  run.steps.push_back(run.steps.front());  // two steps named "s": the insert fails
  run.manifest_json = "{}";
  ASSERT_FALSE((*store)->create_run(run).ok());
  auto db = Database::open(dir.sub("radflow.db"), Database::Mode::kReadWrite);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*(*db)->query_int64("SELECT COUNT(*) FROM run_manifests", "count"), 0);
}

TEST(RunManifest, DeletedWithItsRun) {
  TempDir dir;
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store.ok());
  NewRun run = one_step_run();
  run.manifest_json = "{}";
  auto run_id = (*store)->create_run(run);
  ASSERT_TRUE(run_id.ok());
  ASSERT_TRUE((*store)->set_run_status(*run_id, "succeeded", "").ok());
  ASSERT_TRUE((*store)->delete_run(*run_id).ok());
  EXPECT_EQ((*store)->get_run_manifest(*run_id).status().code(), "not_found");
}

TEST(RunManifest, MigrationSevenKeepsOlderRunsWithoutManifests) {
  TempDir dir;
  {
    auto db = Database::open(dir.sub("radflow.db"), Database::Mode::kReadWrite);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(migrate_to(**db, 6).ok());
    ASSERT_TRUE((*db)->exec("INSERT INTO runs (id, name, status, workflow_json, params_json, "
                            "created_ms) VALUES (1, 'old', 'succeeded', '{}', '{}', 1)",
                            "seed a version-6 run")
                    .ok());
  }
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  ASSERT_GE(latest_schema_version(), 7);
  EXPECT_TRUE((*store)->get_run(1).ok());
  EXPECT_EQ((*store)->get_run_manifest(1).status().code(), "not_found");
}

}  // namespace
}  // namespace radflow::storage
