// Store::open refuses a damaged database file with a message that names the
// file, what is wrong and what to do.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "storage/store.h"
#include "tests/storage/temp_dir.h"
#include "tests/storage/test_runs.h"

namespace radflow::storage {
namespace {

using testing::TempDir;

// A database of a few hundred pages, checkpointed into the main file.
std::string make_database(const TempDir &dir) {
  auto store = Store::open(dir.path());
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  const int64_t step_id = testing::make_step(**store, "big");
  std::vector<LogRecord> logs;
  for (int i = 0; i < 4000; ++i) {
    logs.push_back({0, step_id, 0, 1, "info", "plugin", "line " + std::to_string(i) + " " +
                                                            std::string(100, 'x')});
  }
  (*store)->append_logs(logs);
  (*store)->flush();
  return (*store)->database_path();  // closing the last connection checkpoints the WAL
}

void expect_refused(const std::string &data_dir, const std::string &db_path) {
  auto store = Store::open(data_dir);
  ASSERT_FALSE(store.ok()) << "a damaged database was opened";
  EXPECT_EQ(store.status().code(), "storage_error");
  const std::string message = store.status().message();
  EXPECT_NE(message.find(db_path), std::string::npos) << message;
  EXPECT_NE(message.find("damaged"), std::string::npos) << message;
  EXPECT_NE(message.find("backup"), std::string::npos) << message;
  EXPECT_NE(message.find("aside"), std::string::npos) << message;
}

TEST(Integrity, GarbageFileIsRefused) {
  TempDir dir;
  std::string garbage(64 * 1024, '\0');
  std::mt19937 random(7);
  for (char &c : garbage) c = static_cast<char>(random());
  testing::write_file(dir.sub("radflow.db"), garbage);
  expect_refused(dir.path(), dir.sub("radflow.db"));
}

TEST(Integrity, TruncatedDatabaseIsRefused) {
  TempDir dir;
  const std::string path = make_database(dir);
  const auto size = std::filesystem::file_size(path);
  ASSERT_GT(size, 100u * 1024);
  std::filesystem::resize_file(path, size / 2);
  expect_refused(dir.path(), path);
}

TEST(Integrity, OverwrittenPagesAreRefused) {
  TempDir dir;
  const std::string path = make_database(dir);
  const auto size = std::filesystem::file_size(path);
  {
    // Pages 3 to 12 (4 KiB each) become noise; the header on page 1 stays valid.
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(2 * 4096);
    std::mt19937 random(11);
    for (int i = 0; i < 10 * 4096; ++i) file.put(static_cast<char>(random()));
  }
  ASSERT_EQ(std::filesystem::file_size(path), size);
  expect_refused(dir.path(), path);
}

TEST(Integrity, HealthyDatabaseOpens) {
  TempDir dir;
  make_database(dir);
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_EQ(*(*store)->count_runs(std::nullopt), 1);
}

}  // namespace
}  // namespace radflow::storage
