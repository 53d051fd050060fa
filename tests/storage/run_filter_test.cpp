// RunFilterSql: the run list's, its count's and the run search's WHERE clause
// holds only the conditions a request sets, so that SQLite's planner can use
// the runs_by_status index and count without reading rows (run_filter.h). What
// each filter matches is checked through Store in store_test.cpp
// (list_runs, count_runs) and run_search_test.cpp (search_runs).
#include <gtest/gtest.h>
#include <memory>
#include <string>

#include "storage/database.h"
#include "storage/migrations.h"
#include "storage/run_filter.h"
#include "tests/storage/temp_dir.h"

namespace radflow::storage {
namespace {

using testing::TempDir;

class RunFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::open(dir_.sub("plan.db"), Database::Mode::kReadWrite);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    db_ = std::move(*db);
    ASSERT_TRUE(migrate(*db_).ok());
  }

  // Column `column` of every row `sql` returns, one per line.
  std::string column_of(const std::string &sql, int column) {
    auto stmt = db_->prepare(sql, "explain");
    EXPECT_TRUE(stmt.ok()) << stmt.status().to_string();
    if (!stmt.ok()) return "";
    std::string lines;
    while (*stmt->step()) lines += stmt->column_text(column) + "\n";
    return lines;
  }
  std::string opcodes(const std::string &sql) { return column_of("EXPLAIN " + sql, 1); }
  std::string plan(const std::string &sql) { return column_of("EXPLAIN QUERY PLAN " + sql, 3); }

  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(RunFilterTest, NoFilterCountsIndexEntriesWithoutTestingRows) {
  const RunFilterSql filter(RunFilter{});
  EXPECT_EQ(filter.where(), "");
  EXPECT_EQ(filter.parameter_count(), 0);
  const std::string count = opcodes("SELECT COUNT(*) FROM runs " + filter.where());
  EXPECT_NE(count.find("\nCount\n"), std::string::npos) << count;
  EXPECT_EQ(count.find("\nNext\n"), std::string::npos) << count;
  // The catch-all form this replaced visits and tests every row.
  const std::string catch_all = opcodes("SELECT COUNT(*) FROM runs WHERE (?1 IS NULL OR status = ?1)");
  EXPECT_EQ(catch_all.find("\nCount\n"), std::string::npos) << catch_all;
}

TEST_F(RunFilterTest, StatusFilterSearchesTheStatusIndex) {
  const RunFilterSql filter(RunFilter{std::string("succeeded"), {}, {}});
  EXPECT_EQ(filter.parameter_count(), 1);
  const std::string count = plan("SELECT COUNT(*) FROM runs " + filter.where());
  EXPECT_NE(count.find("SEARCH runs USING COVERING INDEX runs_by_status (status=?)"), std::string::npos)
      << count;
  const std::string list = plan("SELECT id FROM runs " + filter.where() + "ORDER BY id DESC LIMIT 50");
  EXPECT_NE(list.find("USING COVERING INDEX runs_by_status (status=?)"), std::string::npos) << list;
  EXPECT_EQ(list.find("TEMP B-TREE"), std::string::npos) << list;
}

TEST_F(RunFilterTest, ParametersAreNumberedInOrderAndBindTheFilterValues) {
  const RunFilterSql filter(RunFilter{std::string("failed"), "alpha", "#42"});
  ASSERT_EQ(filter.parameter_count(), 4);  // status, workflow, text as an id, text
  const std::string sql = "SELECT COUNT(*) FROM runs " + filter.where() + "LIMIT ?5";
  auto stmt = db_->prepare(sql, "numbered");
  ASSERT_TRUE(stmt.ok()) << stmt.status().to_string();
  filter.bind(*stmt);
  stmt->bind(5, 1);
  // A parameter bound out of range fails the step (Statement reports its first
  // bind failure there), so each of the five indexes exists.
  auto row = stmt->step();
  ASSERT_TRUE(row.ok()) << row.status().to_string();
  EXPECT_TRUE(*row);
}

}  // namespace
}  // namespace radflow::storage
