// delete_run, collect_garbage and prune_logs; metric_series downsampling.
#include <gtest/gtest.h>

#include <cmath>

#include "storage/artifact_store.h"
#include "storage/store.h"
#include "tests/storage/temp_dir.h"
#include "tests/storage/test_runs.h"

namespace radflow::storage {
namespace {

using testing::TempDir;
using testing::write_file;

class StoreMaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::open(dir_.sub("data"));
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    store_ = std::move(*opened);
    auto artifacts = ArtifactStore::open(dir_.sub("data"));
    ASSERT_TRUE(artifacts.ok());
    artifacts_ = std::move(*artifacts);
  }
  // A finished run whose step stored `content` as output "out". Returns the
  // step id; *artifact_id gets the output's row.
  int64_t finished_step(const std::string &name, const std::string &content,
                        int64_t *artifact_id) {
    const int64_t step = testing::make_step(*store_, name);
    const int64_t attempt = *store_->create_attempt(step, 1, "");
    write_file(dir_.sub(name + ".out"), content);
    auto stored = artifacts_->put(dir_.sub(name + ".out"));
    EXPECT_TRUE(stored.ok());
    ArtifactRecord record{0, stored->digest, stored->kind, stored->size_bytes, 0, 0, 0, "out"};
    auto ids = store_->finish_attempt_with_outputs(attempt, {"succeeded", "", "", 0, std::nullopt},
                                                   step, {"succeeded", "", ""}, {record});
    EXPECT_TRUE(ids.ok()) << ids.status().to_string();
    *artifact_id = ids.ok() ? ids->front() : 0;
    store_->append_logs({LogRecord{0, step, attempt, 5, "info", "plugin", "hello"}});
    store_->append_metrics({MetricPoint{step, attempt, "loss", 0, 1.0}});
    EXPECT_TRUE(store_->set_run_status(run_of(step), "succeeded", "").ok());
    return step;
  }
  int64_t run_of(int64_t step) { return store_->get_step(step)->run_id; }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ArtifactStore> artifacts_;
};

TEST_F(StoreMaintenanceTest, DeleteRunRemovesEverythingAndRefusesActiveRuns) {
  int64_t artifact = 0;
  const int64_t step = finished_step("old", "weights", &artifact);
  const int64_t run = run_of(step);
  const int64_t active = run_of(testing::make_step(*store_, "active"));
  EXPECT_EQ(store_->delete_run(active).status().code(), "run_active");
  EXPECT_EQ(store_->delete_run(4242).status().code(), "not_found");
  const std::string digest = store_->get_artifact(artifact)->digest;

  auto report = store_->delete_run(run);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->steps, 1);
  EXPECT_EQ(report->attempts, 1);
  EXPECT_EQ(report->logs, 1);
  EXPECT_EQ(report->metrics, 1);
  EXPECT_EQ(report->artifacts_deleted, 1);
  EXPECT_EQ(report->artifacts_kept, 0);
  EXPECT_EQ(report->released_digests, std::vector<std::string>{digest});
  EXPECT_EQ(store_->get_run(run).status().code(), "not_found");
  EXPECT_EQ(store_->get_step(step).status().code(), "not_found");
  EXPECT_EQ(store_->get_artifact(artifact).status().code(), "not_found");
  EXPECT_TRUE(store_->logs_of_step(step, 0, 10)->empty());
  EXPECT_EQ(*store_->count_runs(std::nullopt), 1);

  // The blob stays until the GC, which frees it once unreferenced.
  EXPECT_TRUE(artifacts_->contains(digest));
  auto dry = store_->collect_garbage(*artifacts_, GcMode::kDryRun, 0);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->digests, std::vector<std::string>{digest});
  EXPECT_EQ(dry->bytes, 7);
  EXPECT_TRUE(artifacts_->contains(digest));
  auto gc = store_->collect_garbage(*artifacts_, GcMode::kDelete, 0);
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->files, 1);
  EXPECT_FALSE(artifacts_->contains(digest));
}

TEST_F(StoreMaintenanceTest, CachedStepSurvivesDeletionOfItsSourceRun) {
  int64_t artifact = 0;
  const int64_t source = finished_step("source", "features", &artifact);
  ASSERT_TRUE(store_->set_step_cache(source, "key", 0).ok());
  // Two later runs served "s" from the cache; the first also fed it onward.
  NewRun later = testing::one_step_run("later");
  NewStep reader;
  reader.name = "reader";
  reader.plugin = "p";
  reader.plugin_version = "1";
  reader.inputs.push_back({"x", "s", "out"});
  later.steps.push_back(reader);
  const int64_t later_run = *store_->create_run(later);
  const int64_t copy_a = store_->find_step(later_run, "s")->id;
  const int64_t copy_b = testing::make_step(*store_, "later2");
  for (int64_t copy : {copy_a, copy_b}) {
    ASSERT_TRUE(store_->set_step_cache(copy, "key", source).ok());
    ASSERT_TRUE(store_->set_step_status(copy, "cached", "cache_hit", "").ok());
  }
  const int64_t reader_step = store_->find_step(later_run, "reader")->id;
  const int64_t read = *store_->create_attempt(reader_step, 1, "");
  ASSERT_TRUE(store_->add_attempt_input(read, "x", artifact).ok());

  auto report = store_->delete_run(run_of(source));
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->artifacts_kept, 1);
  EXPECT_EQ(report->artifacts_deleted, 0);
  EXPECT_TRUE(report->released_digests.empty());

  for (int64_t copy : {copy_a, copy_b}) {
    auto outputs = store_->outputs_of_step(copy);
    ASSERT_TRUE(outputs.ok());
    ASSERT_EQ(outputs->size(), 1u) << "step " << copy;
    EXPECT_EQ((*outputs)[0].id, artifact);
  }
  EXPECT_EQ(store_->get_artifact(artifact)->step_id, copy_a);  // the heir owns it
  EXPECT_EQ(store_->get_step(copy_a)->cached_from_step, 0);
  EXPECT_EQ(store_->get_step(copy_b)->cached_from_step, copy_a);
  auto inputs = store_->inputs_of_attempt(read);
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].artifact.id, artifact);
  auto gc = store_->collect_garbage(*artifacts_, GcMode::kDelete, 0);
  ASSERT_TRUE(gc.ok());
  EXPECT_TRUE(gc->digests.empty());
  EXPECT_TRUE(artifacts_->verify(store_->get_artifact(artifact)->digest).ok());
}

TEST_F(StoreMaintenanceTest, ArtifactReadByAnotherRunIsKeptDetached) {
  int64_t artifact = 0;
  const int64_t source = finished_step("source", "data", &artifact);
  const int64_t other = testing::make_step(*store_, "other");
  const int64_t attempt = *store_->create_attempt(other, 1, "");
  ASSERT_TRUE(store_->add_attempt_input(attempt, "data", artifact).ok());
  auto report = store_->delete_run(run_of(source));
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->artifacts_kept, 1);
  auto kept = store_->get_artifact(artifact);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->step_id, 0);
  EXPECT_EQ(kept->producer_attempt_id, 0);
  EXPECT_EQ(store_->inputs_of_attempt(attempt)->at(0).artifact.digest, kept->digest);
}

TEST_F(StoreMaintenanceTest, PruneLogsOnlyTouchesOldLogsOfFinishedRuns) {
  int64_t artifact = 0;
  const int64_t done = finished_step("done", "x", &artifact);  // one log at ts 5
  const int64_t running = testing::make_step(*store_, "running");
  store_->append_logs({LogRecord{0, running, 0, 5, "info", "plugin", "still needed"},
                       LogRecord{0, done, 0, 50, "info", "plugin", "recent"}});
  store_->flush();
  auto pruned = store_->prune_logs(10);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1);
  auto left = store_->logs_of_step(done, 0, 10);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].message, "recent");
  EXPECT_EQ(store_->logs_of_step(running, 0, 10)->size(), 1u);
}

// The store's downsampling picks exactly the points the in-memory stride picks:
// index k * (n - 1) / (m - 1), first and last kept.
TEST_F(StoreMaintenanceTest, MetricSeriesDownsamplesKeepingFirstAndLast) {
  const int64_t step = testing::make_step(*store_, "m");
  const int64_t a1 = *store_->create_attempt(step, 1, "");
  const int64_t a2 = *store_->create_attempt(step, 2, "");
  std::vector<MetricPoint> points;
  for (int i = 0; i < 1000; ++i) points.push_back({step, a1, "loss", i, 100.0 - i});
  for (int i = 0; i < 7; ++i) points.push_back({step, a1, "auroc", i * 10, 0.5});
  for (int i = 0; i < 300; ++i) points.push_back({step, a2, "loss", i, std::nan("")});
  store_->append_metrics(points);
  store_->flush();

  for (int m : {2, 3, 10, 299, 300, 301, 999}) {
    auto series = store_->metric_series(step, AttemptSelector::attempt(1), m);
    ASSERT_TRUE(series.ok()) << series.status().to_string();
    std::vector<int64_t> loss;
    size_t auroc = 0;
    for (const auto &p : *series) {
      if (p.name == "loss") loss.push_back(p.iteration);
      if (p.name == "auroc") ++auroc;
    }
    const size_t n = 1000;
    ASSERT_EQ(loss.size(), static_cast<size_t>(m)) << "m " << m;
    for (int k = 0; k < m; ++k) {
      ASSERT_EQ(loss[k], static_cast<int64_t>(k * (n - 1) / (m - 1))) << "m " << m << " k " << k;
    }
    EXPECT_EQ(auroc, std::min<size_t>(7, m));
  }
  EXPECT_EQ(store_->metric_series(step, AttemptSelector::attempt(1), 0)->size(), 1007u);
  EXPECT_EQ(store_->metric_series(step, AttemptSelector::attempt(1), 1)->size(), 1007u);

  auto latest = store_->metric_series(step, AttemptSelector::latest(), 50);
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 50u);
  EXPECT_EQ(latest->front().attempt_id, a2);
  EXPECT_EQ(latest->back().iteration, 299);
  EXPECT_TRUE(std::isnan(latest->front().value));
  EXPECT_EQ(store_->metric_series(step, AttemptSelector::all(), 0)->size(), 1307u);
  EXPECT_EQ(store_->metric_series(step, AttemptSelector::attempt(3), 10).status().code(),
            "not_found");
}

}  // namespace
}  // namespace radflow::storage
