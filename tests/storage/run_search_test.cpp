// Store::search_runs: the dashboard's run search, filtered, counted, ordered and
// paged in one SQL query.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "storage/store.h"
#include "tests/storage/temp_dir.h"
#include "tests/storage/test_runs.h"

namespace radflow::storage {
namespace {

using testing::TempDir;

// Ten runs whose columns are written straight into the database (durations need
// chosen times). Duration: run 8 800 ms, runs 1 and 3 500 (a tie), 2 300, 6 100;
// none for 4 (not finished), 5, 9, 10 (never started) and 7 (finished before it
// started).
class RunSearchTest : public ::testing::Test {
 protected:
  struct Row {
    const char *name, *status, *started, *finished, *message, *by, *tags;
  };

  void SetUp() override {
    auto opened = Store::open(dir_.path());
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    store_ = std::move(*opened);
    const std::vector<Row> rows = {
        {"alpha", "succeeded", "1000", "1500", "first try", "ada", R"(["ablation", "518px"])"},
        {"beta", "failed", "1000", "1300", "OOM at step 3", "bob", "[]"},
        {"alpha", "succeeded", "2000", "2500", "", "ada", R"(["Baseline"])"},
        {"alpha", "running", "3000", "NULL", "Warm-up", "carl", "[]"},
        {"gamma", "queued", "NULL", "NULL", "", "", "not json"},
        {"beta", "succeeded", "1000", "1100", "ok", "bob", R"({"k": "ablation"})"},
        {"alpha", "failed", "5000", "4000", "", "ada", R"([1, "Mixed-Case"])"},
        {"beta", "succeeded", "100", "900", "id 3 mention", "dan", "[]"},
        {"delta", "queued", "NULL", "NULL", "", "", "[]"},
        {"delta", "queued", "NULL", "NULL", "", "", "[]"},
    };
    for (const Row &row : rows) {
      auto id = store_->create_run(testing::one_step_run(row.name));
      ASSERT_TRUE(id.ok()) << id.status().to_string();
      sql("UPDATE runs SET status = '" + std::string(row.status) +
          "', started_ms = " + row.started + ", finished_ms = " + row.finished + ", message = '" +
          row.message + "', submitted_by = '" + row.by + "', tags_json = '" + row.tags +
          "' WHERE id = " + std::to_string(*id));
    }
  }

  void sql(const std::string &statement) {
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open(store_->database_path().c_str(), &db), SQLITE_OK);
    char *error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "") << " in " << statement;
    sqlite3_free(error);
    sqlite3_close(db);
  }

  // The ids of the page, in order; total into *total.
  std::vector<int64_t> ids(const RunSearch &search, int64_t *total = nullptr) {
    auto page = store_->search_runs(search);
    EXPECT_TRUE(page.ok()) << page.status().to_string();
    if (!page.ok()) return {};
    if (total != nullptr) *total = page->total;
    std::vector<int64_t> out;
    for (const RunRecord &run : page->runs) out.push_back(run.id);
    return out;
  }

  std::vector<int64_t> text(const std::string &q) {
    RunSearch search;
    search.text = q;
    return ids(search);
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

using Ids = std::vector<int64_t>;

TEST_F(RunSearchTest, NoFilterListsEveryRunByIdInBothOrders) {
  RunSearch search;
  int64_t total = 0;
  EXPECT_EQ(ids(search, &total), (Ids{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(total, 10);
  search.order = SortOrder::kAscending;
  EXPECT_EQ(ids(search, &total), (Ids{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(total, 10);
}

TEST_F(RunSearchTest, PageRowsAreSummariesWithTheStoredColumns) {
  RunSearch search;
  search.text = "#7";
  auto page = store_->search_runs(search);
  ASSERT_TRUE(page.ok()) << page.status().to_string();
  ASSERT_EQ(page->runs.size(), 1u);
  const RunRecord &run = page->runs[0];
  EXPECT_EQ(run.name, "alpha");
  EXPECT_EQ(run.status, "failed");
  EXPECT_EQ(run.started_ms, 5000);
  EXPECT_EQ(run.finished_ms, 4000);
  EXPECT_EQ(run.submitted_by, "ada");
  EXPECT_EQ(run.tags_json, R"([1, "Mixed-Case"])");
  EXPECT_EQ(run.params_json, "{}");
  EXPECT_TRUE(run.workflow_json.empty());  // summaries leave it unread
}

TEST_F(RunSearchTest, FiltersByStatusAndWorkflowExactly) {
  RunSearch search;
  search.status = "succeeded";
  int64_t total = 0;
  EXPECT_EQ(ids(search, &total), (Ids{8, 6, 3, 1}));
  EXPECT_EQ(total, 4);
  search = RunSearch();
  search.workflow = "alpha";
  EXPECT_EQ(ids(search, &total), (Ids{7, 4, 3, 1}));
  EXPECT_EQ(total, 4);
  search.workflow = "alph";  // a name filter is exact, not a substring
  EXPECT_EQ(ids(search, &total), Ids{});
  EXPECT_EQ(total, 0);
  search.workflow = "alpha";
  search.status = "failed";
  EXPECT_EQ(ids(search), Ids{7});
  search.status = "queued";
  EXPECT_EQ(ids(search), Ids{});
}

TEST_F(RunSearchTest, TextMatchesIdNameMessageSubmitterAndTagsIgnoringCase) {
  EXPECT_EQ(text("#3"), Ids{3});           // an id, with '#'
  EXPECT_EQ(text("3"), (Ids{8, 3, 2}));    // the id, or a substring of a message
  EXPECT_EQ(text("#1"), Ids{1});           // whole ids only: not run 10
  EXPECT_EQ(text("10"), Ids{10});
  EXPECT_EQ(text("GAMMA"), Ids{5});        // name
  EXPECT_EQ(text("elt"), (Ids{10, 9}));    // a substring of the name
  EXPECT_EQ(text("oom"), Ids{2});          // message
  EXPECT_EQ(text("warm-"), Ids{4});
  EXPECT_EQ(text("BoB"), (Ids{6, 2}));     // submitter
  EXPECT_EQ(text("ablation"), Ids{1});     // a tag; run 6's tags are an object, not a list
  EXPECT_EQ(text("baseline"), Ids{3});
  EXPECT_EQ(text("mixed-case"), Ids{7});   // string tags only (run 7 also has 1)
  EXPECT_EQ(text("not json"), Ids{});      // malformed tags match nothing, fail nothing
  EXPECT_EQ(text("%"), Ids{});             // no LIKE wildcards
  EXPECT_EQ(text("_"), Ids{});
  EXPECT_EQ(text("nothing-like-it"), Ids{});
}

TEST_F(RunSearchTest, TextCombinesWithTheOtherFilters) {
  RunSearch search;
  search.text = "bob";  // runs 2 (failed) and 6 (succeeded), both beta
  search.workflow = "beta";
  search.status = "succeeded";
  int64_t total = 0;
  EXPECT_EQ(ids(search, &total), Ids{6});
  EXPECT_EQ(total, 1);
  search.sort = RunSortKey::kDuration;
  search.status.reset();
  EXPECT_EQ(ids(search, &total), (Ids{2, 6}));
  EXPECT_EQ(total, 2);
}

TEST_F(RunSearchTest, DurationOrderPutsRunsWithoutOneLastAndTiesNewestFirst) {
  RunSearch search;
  search.sort = RunSortKey::kDuration;
  int64_t total = 0;
  EXPECT_EQ(ids(search, &total), (Ids{8, 3, 1, 2, 6, 10, 9, 7, 5, 4}));
  EXPECT_EQ(total, 10);
  search.order = SortOrder::kAscending;
  EXPECT_EQ(ids(search, &total), (Ids{6, 2, 3, 1, 8, 10, 9, 7, 5, 4}));
  EXPECT_EQ(total, 10);
  search.workflow = "alpha";
  EXPECT_EQ(ids(search, &total), (Ids{3, 1, 7, 4}));
  EXPECT_EQ(total, 4);
  search.order = SortOrder::kDescending;
  EXPECT_EQ(ids(search, &total), (Ids{3, 1, 7, 4}));
}

TEST_F(RunSearchTest, PagesKeepTheOrderAndTheTotal) {
  RunSearch search;
  search.sort = RunSortKey::kDuration;
  search.order = SortOrder::kAscending;
  search.limit = 3;
  std::vector<int64_t> all;
  for (search.offset = 0; search.offset < 12; search.offset += 3) {
    int64_t total = -1;
    for (int64_t id : ids(search, &total)) all.push_back(id);
    EXPECT_EQ(total, 10) << "offset " << search.offset;
  }
  EXPECT_EQ(all, (Ids{6, 2, 3, 1, 8, 10, 9, 7, 5, 4}));

  search = RunSearch();
  search.order = SortOrder::kAscending;
  search.limit = 2;
  search.offset = 4;
  int64_t total = 0;
  EXPECT_EQ(ids(search, &total), (Ids{5, 6}));
  EXPECT_EQ(total, 10);
  search.status = "succeeded";
  search.offset = 50;  // past the end: no rows, still the count
  EXPECT_EQ(ids(search, &total), Ids{});
  EXPECT_EQ(total, 4);
  search.offset = 0;
  search.status = "lost";
  total = -1;
  EXPECT_EQ(ids(search, &total), Ids{});
  EXPECT_EQ(total, 0);
}

}  // namespace
}  // namespace radflow::storage
