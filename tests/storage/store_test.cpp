#include "storage/store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "tests/storage/temp_dir.h"

namespace radflow::storage {
namespace {

using testing::TempDir;

NewStep make_step(const std::string &name, int position) {
  NewStep step;
  step.name = name;
  step.plugin = "synth-cxr";
  step.plugin_version = "1.0.0";
  step.params_json = "{\"n\":" + std::to_string(position) + "}";
  step.resources_json = "{\"gpus\":0}";
  step.retries = 2;
  step.timeout_s = 1.5;
  step.priority = 3;
  step.position = position;
  return step;
}

// data -> train: two steps, one edge.
NewRun two_step_run(const std::string &name = "demo") {
  NewRun run;
  run.name = name;
  run.workflow_json = "{\"name\":\"" + name + "\"}";
  run.params_json = "{\"seed\":1}";
  NewStep train = make_step("train", 1);
  train.inputs.push_back({"dataset", "data", "images"});
  run.steps = {train, make_step("data", 0)};  // out of order on purpose
  return run;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::open(dir_.path());
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    store_ = std::move(*opened);
  }
  int64_t new_run(const std::string &name = "demo") {
    auto id = store_->create_run(two_step_run(name));
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    return id.ok() ? *id : 0;
  }
  int64_t step_id(int64_t run_id, const std::string &name) {
    auto step = store_->find_step(run_id, name);
    EXPECT_TRUE(step.ok()) << step.status().to_string();
    return step.ok() ? step->id : 0;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, CreateRunStoresRunStepsAndInputsQueued) {
  int64_t run_id = new_run();
  auto run = store_->get_run(run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, "queued");
  EXPECT_EQ(run->params_json, "{\"seed\":1}");
  EXPECT_GT(run->created_ms, 0);
  EXPECT_EQ(run->started_ms, 0);

  auto steps = store_->steps_of_run(run_id);
  ASSERT_TRUE(steps.ok());
  ASSERT_EQ(steps->size(), 2u);
  EXPECT_EQ((*steps)[0].name, "data");  // ordered by position
  const StepRecord &train = (*steps)[1];
  EXPECT_EQ(train.name, "train");
  EXPECT_EQ(train.status, "queued");
  EXPECT_EQ(train.retries, 2);
  EXPECT_DOUBLE_EQ(train.timeout_s, 1.5);
  EXPECT_EQ(train.priority, 3);
  EXPECT_TRUE(train.cache);
  EXPECT_EQ(train.resources_json, "{\"gpus\":0}");
  ASSERT_EQ(train.inputs.size(), 1u);
  EXPECT_EQ(train.inputs[0].input_name, "dataset");
  EXPECT_EQ(train.inputs[0].source_step, "data");
  EXPECT_EQ(train.inputs[0].source_output, "images");
}

TEST_F(StoreTest, CreateRunIsAtomic) {
  NewRun bad = two_step_run("bad");
  bad.steps.push_back(make_step("data", 2));  // a second "data"
  auto id = store_->create_run(bad);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), "storage_error");
  EXPECT_NE(id.status().message().find("UNIQUE"), std::string::npos) << id.status().message();
  auto count = store_->count_runs(std::nullopt);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0);
  // The store keeps working after a failed job.
  EXPECT_GT(new_run(), 0);
}

TEST_F(StoreTest, NotFoundErrorsNameTheRow) {
  auto run = store_->get_run(7);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), "not_found");
  EXPECT_EQ(run.status().message(), "run 7 not found");
  EXPECT_EQ(store_->find_step(7, "x").status().code(), "not_found");
  EXPECT_EQ(store_->set_run_status(7, "running", "").code(), "not_found");
  EXPECT_EQ(store_->set_step_status(9, "running", "", "").code(), "not_found");
  EXPECT_EQ(store_->get_artifact(3).status().code(), "not_found");
  EXPECT_EQ(store_->get_plugin_descriptor("abc").status().code(), "not_found");
}

TEST_F(StoreTest, StatusChangesStampStartAndFinishTimes) {
  int64_t run_id = new_run();
  ASSERT_TRUE(store_->set_run_status(run_id, "running", "").ok());
  auto started = store_->get_run(run_id);
  ASSERT_TRUE(started.ok());
  EXPECT_GT(started->started_ms, 0);
  EXPECT_EQ(started->finished_ms, 0);
  ASSERT_TRUE(store_->set_run_status(run_id, "running", "again").ok());
  EXPECT_EQ(store_->get_run(run_id)->started_ms,
            started->started_ms);  // first start kept
  ASSERT_TRUE(store_->set_run_status(run_id, "failed", "step train failed").ok());
  auto finished = store_->get_run(run_id);
  EXPECT_EQ(finished->status, "failed");
  EXPECT_EQ(finished->message, "step train failed");
  EXPECT_GE(finished->finished_ms, started->started_ms);

  int64_t data = step_id(run_id, "data");
  ASSERT_TRUE(store_->set_step_status(data, "running", "", "").ok());
  ASSERT_TRUE(store_->set_step_status(data, "failed", "timeout", "ran past 1.5 s").ok());
  auto step = store_->get_step(data);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->reason, "timeout");
  EXPECT_EQ(step->message, "ran past 1.5 s");
  EXPECT_GT(step->started_ms, 0);
  EXPECT_GT(step->finished_ms, 0);
}

TEST_F(StoreTest, ProgressIsFireAndForgetUntilFlush) {
  int64_t data = step_id(new_run(), "data");
  store_->set_step_progress(data, 0.25, "epoch 1/4");
  store_->flush();
  auto step = store_->get_step(data);
  ASSERT_TRUE(step.ok());
  EXPECT_DOUBLE_EQ(step->progress, 0.25);
  EXPECT_EQ(step->progress_message, "epoch 1/4");
}

TEST_F(StoreTest, ListRunsPagesNewestFirstAndFilters) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(new_run("run" + std::to_string(i)));
  for (int i = 0; i < 7; i += 2) ASSERT_TRUE(store_->set_run_status(ids[i], "succeeded", "").ok());

  auto first = store_->list_runs(std::nullopt, 3, 0);
  auto second = store_->list_runs(std::nullopt, 3, 3);
  auto last = store_->list_runs(std::nullopt, 3, 6);
  ASSERT_TRUE(first.ok() && second.ok() && last.ok());
  ASSERT_EQ(first->size(), 3u);
  ASSERT_EQ(second->size(), 3u);
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ((*first)[0].id, ids[6]);
  EXPECT_EQ((*second)[0].id, ids[3]);
  EXPECT_EQ((*last)[0].id, ids[0]);

  auto succeeded = store_->list_runs(std::string("succeeded"), 10, 0);
  ASSERT_TRUE(succeeded.ok());
  ASSERT_EQ(succeeded->size(), 4u);
  EXPECT_EQ((*succeeded)[0].id, ids[6]);
  EXPECT_EQ((*succeeded)[3].id, ids[0]);
  EXPECT_EQ(*store_->count_runs(std::string("succeeded")), 4);
  EXPECT_EQ(*store_->count_runs(std::string("queued")), 3);
  EXPECT_EQ(*store_->count_runs(std::nullopt), 7);

  auto unfinished = store_->unfinished_runs();
  ASSERT_TRUE(unfinished.ok());
  ASSERT_EQ(unfinished->size(), 3u);
  EXPECT_EQ((*unfinished)[0].id, ids[1]);  // oldest first
}

TEST_F(StoreTest, AttemptsRecordPidsAndOutcome) {
  int64_t data = step_id(new_run(), "data");
  auto first = store_->create_attempt(data, 1, "0,1");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(store_->set_attempt_pids(*first, {4242, 4243}).ok());
  ASSERT_TRUE(
      store_->finish_attempt(*first, "failed", "signal", "killed by SIGKILL", std::nullopt, 9)
          .ok());
  auto second = store_->create_attempt(data, 2, "");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(store_->finish_attempt(*second, "succeeded", "", "", 0, std::nullopt).ok());

  auto attempts = store_->attempts_of_step(data);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 2u);
  const AttemptRecord &a = (*attempts)[0];
  EXPECT_EQ(a.number, 1);
  EXPECT_EQ(a.status, "failed");
  EXPECT_EQ(a.pids, (std::vector<int64_t>{4242, 4243}));
  EXPECT_EQ(a.devices, "0,1");
  EXPECT_FALSE(a.exit_code.has_value());
  EXPECT_EQ(a.signal, 9);
  EXPECT_GT(a.finished_ms, 0);
  EXPECT_EQ((*attempts)[1].exit_code, 0);
  EXPECT_FALSE((*attempts)[1].signal.has_value());
}

TEST_F(StoreTest, AttemptsOfRunListEveryStepsAttemptsByStepThenNumber) {
  const int64_t run_id = new_run();
  const int64_t other_run = new_run("other");
  const int64_t data = step_id(run_id, "data");
  const int64_t train = step_id(run_id, "train");
  // Created out of order, and one in another run that must not appear.
  ASSERT_TRUE(store_->create_attempt(train, 1, "").ok());
  ASSERT_TRUE(store_->create_attempt(step_id(other_run, "data"), 1, "").ok());
  ASSERT_TRUE(store_->create_attempt(data, 2, "").ok());
  ASSERT_TRUE(store_->create_attempt(data, 1, "").ok());

  auto attempts = store_->attempts_of_run(run_id);
  ASSERT_TRUE(attempts.ok()) << attempts.status().to_string();
  std::map<int64_t, std::vector<int>> numbers;
  for (const auto &[step, rows] : *attempts) {
    for (const auto &attempt : rows) {
      EXPECT_EQ(attempt.step_id, step);
      numbers[step].push_back(attempt.number);
    }
  }
  const std::map<int64_t, std::vector<int>> expected = {{data, {1, 2}}, {train, {1}}};
  EXPECT_EQ(numbers, expected);
  EXPECT_TRUE(store_->attempts_of_run(999999)->empty());
}

TEST_F(StoreTest, MarkLostAttemptsOnlyTouchesRunningOnes) {
  int64_t run_id = new_run();
  int64_t data = step_id(run_id, "data");
  int64_t done = *store_->create_attempt(data, 1, "");
  ASSERT_TRUE(store_->finish_attempt(done, "failed", "exit", "", 1, std::nullopt).ok());
  int64_t running_a = *store_->create_attempt(data, 2, "");
  int64_t running_b = *store_->create_attempt(step_id(run_id, "train"), 1, "");

  auto lost = store_->mark_lost_attempts();
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(*lost, (std::vector<int64_t>{running_a, running_b}));
  auto attempt = store_->get_attempt(running_a);
  ASSERT_TRUE(attempt.ok());
  EXPECT_EQ(attempt->status, "lost");
  EXPECT_EQ(attempt->reason, "lost");
  EXPECT_EQ(attempt->message, "daemon restarted while the attempt ran");
  EXPECT_EQ(store_->get_attempt(done)->status, "failed");
  EXPECT_TRUE(store_->mark_lost_attempts()->empty());
}

TEST_F(StoreTest, AttemptsAnExecutorAdoptedStayRunning) {
  int64_t run_id = new_run();
  int64_t adopted = *store_->create_attempt(step_id(run_id, "data"), 1, "");
  int64_t gone = *store_->create_attempt(step_id(run_id, "train"), 1, "");
  EXPECT_EQ(*store_->running_attempts(), (std::vector<int64_t>{adopted, gone}));

  auto lost = store_->mark_lost_attempts({adopted});
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(*lost, std::vector<int64_t>{gone});
  EXPECT_EQ(store_->get_attempt(adopted)->status, "running");
  EXPECT_EQ(store_->get_attempt(adopted)->finished_ms, 0);
  EXPECT_EQ(store_->get_attempt(gone)->status, "lost");
  EXPECT_EQ(*store_->running_attempts(), std::vector<int64_t>{adopted});
}

TEST_F(StoreTest, MetricsRoundTripNaNAndOrder) {
  int64_t data = step_id(new_run(), "data");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  store_->append_metrics(
      {{data, 0, "loss", 2, nan}, {data, 0, "loss", 1, 0.5}, {data, 0, "auroc", 1, 0.9}});
  store_->flush();
  auto metrics = store_->metrics_of_step(data);
  ASSERT_TRUE(metrics.ok());
  ASSERT_EQ(metrics->size(), 3u);
  EXPECT_EQ((*metrics)[0].name, "auroc");
  EXPECT_EQ((*metrics)[1].iteration, 1);
  EXPECT_DOUBLE_EQ((*metrics)[1].value, 0.5);
  EXPECT_EQ((*metrics)[2].iteration, 2);
  EXPECT_TRUE(std::isnan((*metrics)[2].value));
  EXPECT_EQ((*metrics)[2].attempt_id, 0);
}

// One append is one prepared statement run once per point, each name bound without a
// copy: every row keeps its own name and value, a batch with a bad row rolls back
// whole, and the statement is ready for the next batch.
TEST_F(StoreTest, MetricBatchesKeepEveryRowAndRecoverFromAFailedOne) {
  int64_t data = step_id(new_run(), "data");
  int64_t attempt = *store_->create_attempt(data, 1, "");
  std::vector<MetricPoint> points;
  for (int i = 0; i < 2000; ++i) {
    // Names past the small-string buffer, so a dangling binding would show.
    points.push_back({data, attempt, "series/with/a/long/name/" + std::to_string(i % 7), i,
                      i % 11 == 0 ? std::numeric_limits<double>::quiet_NaN() : i * 0.5});
  }
  store_->append_metrics(points);
  std::vector<MetricPoint> bad = {{data, attempt, "bad", 0, 1.0}, {data + 1000, attempt, "bad", 1, 2.0}};
  store_->append_metrics(bad);  // no such step: the foreign key fails the second row
  store_->append_metrics({{data, 0, "after", 0, 3.0}});
  store_->flush();
  EXPECT_EQ(store_->failed_writes(), 1u);
  auto metrics = store_->metrics_of_step(data);
  ASSERT_TRUE(metrics.ok());
  ASSERT_EQ(metrics->size(), 2001u);
  size_t checked = 0;
  for (const MetricPoint &point : *metrics) {
    if (point.name == "after") {
      EXPECT_EQ(point.value, 3.0);
      EXPECT_EQ(point.attempt_id, 0);
      continue;
    }
    const int i = static_cast<int>(point.iteration);
    ASSERT_GE(i, 0);
    ASSERT_LT(i, 2000);
    EXPECT_EQ(point.name, points[i].name);
    EXPECT_EQ(point.attempt_id, attempt);
    if (i % 11 == 0) {
      EXPECT_TRUE(std::isnan(point.value)) << i;
    } else {
      EXPECT_EQ(point.value, i * 0.5) << i;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 2000u);
}

TEST_F(StoreTest, LogsPageByAfterId) {
  int64_t data = step_id(new_run(), "data");
  std::vector<LogRecord> logs;
  for (int i = 0; i < 5; ++i)
    logs.push_back({0, data, 0, 100 + i, "info", "plugin", "line " + std::to_string(i)});
  store_->append_logs(logs);
  store_->flush();
  auto page = store_->logs_of_step(data, 0, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].message, "line 0");
  auto rest = store_->logs_of_step(data, (*page)[1].id, 100);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_EQ((*rest)[0].message, "line 2");
  EXPECT_EQ((*rest)[2].ts_ms, 104);
  EXPECT_EQ((*rest)[2].stream, "plugin");
}

TEST_F(StoreTest, OutputsLineageAndCache) {
  int64_t first_run = new_run("first");
  int64_t data = step_id(first_run, "data");
  int64_t attempt1 = *store_->create_attempt(data, 1, "");
  int64_t attempt2 = *store_->create_attempt(data, 2, "");
  const std::string d1(64, 'a'), d2(64, 'b'), d3(64, 'c');
  ASSERT_TRUE(store_->add_artifact({0, d1, "dir", 10, 0, attempt1, data, "images"}).ok());
  auto images = store_->add_artifact({0, d2, "dir", 20, 0, attempt2, data, "images"});
  auto labels = store_->add_artifact({0, d3, "file", 5, 0, attempt2, data, "labels"});
  ASSERT_TRUE(images.ok() && labels.ok());

  auto outputs = store_->outputs_of_step(data);
  ASSERT_TRUE(outputs.ok());
  ASSERT_EQ(outputs->size(),
            2u);  // the retry's "images" replaces the first attempt's
  EXPECT_EQ((*outputs)[0].output_name, "images");
  EXPECT_EQ((*outputs)[0].digest, d2);
  EXPECT_EQ((*outputs)[0].producer_attempt_id, attempt2);
  EXPECT_GT((*outputs)[0].created_ms, 0);
  EXPECT_EQ((*outputs)[1].output_name, "labels");

  // A later run's step served from the cache sees the earlier step's outputs.
  ASSERT_TRUE(store_->set_step_cache(data, "key-1", 0).ok());
  ASSERT_TRUE(store_->set_step_status(data, "succeeded", "", "").ok());
  auto hit = store_->find_cached_step("key-1");
  ASSERT_TRUE(hit.ok());
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->id, data);
  EXPECT_FALSE(store_->find_cached_step("key-2")->has_value());
  int64_t cached = step_id(new_run("second"), "data");
  ASSERT_TRUE(store_->set_step_cache(cached, "key-1", data).ok());
  auto reused = store_->outputs_of_step(cached);
  ASSERT_TRUE(reused.ok());
  ASSERT_EQ(reused->size(), 2u);
  EXPECT_EQ((*reused)[0].id, *images);
  EXPECT_EQ(store_->get_step(cached)->cached_from_step, data);

  int64_t train = step_id(first_run, "train");
  int64_t train_attempt = *store_->create_attempt(train, 1, "");
  ASSERT_TRUE(store_->add_attempt_input(train_attempt, "dataset", *images).ok());
  auto inputs = store_->inputs_of_attempt(train_attempt);
  ASSERT_TRUE(inputs.ok());
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].input_name, "dataset");
  EXPECT_EQ((*inputs)[0].artifact.digest, d2);
  EXPECT_EQ((*inputs)[0].artifact.step_id, data);
}

TEST_F(StoreTest, ForeignKeysRejectDanglingRows) {
  auto attempt = store_->create_attempt(12345, 1, "");
  ASSERT_FALSE(attempt.ok());
  EXPECT_EQ(attempt.status().code(), "storage_error");
  EXPECT_NE(attempt.status().message().find("create attempt"), std::string::npos);
}

TEST_F(StoreTest, PluginDescriptorCache) {
  const std::string hash(64, 'f');
  ASSERT_TRUE(store_->put_plugin_descriptor(hash, "{\"name\":\"probe\"}").ok());
  ASSERT_TRUE(store_->put_plugin_descriptor(hash, "{\"name\":\"probe2\"}").ok());
  auto json = store_->get_plugin_descriptor(hash);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, "{\"name\":\"probe2\"}");
}

}  // namespace
}  // namespace radflow::storage
