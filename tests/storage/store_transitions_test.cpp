// Multi-row state changes are one transaction each; registrations are
// idempotent; a cancel request survives a reopen.
#include <gtest/gtest.h>

#include "storage/store.h"
#include "tests/storage/temp_dir.h"
#include "tests/storage/test_runs.h"

namespace radflow::storage {
namespace {

using testing::TempDir;

class StoreTransitionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::open(dir_.path());
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    store_ = std::move(*opened);
    step_ = testing::make_step(*store_, "r");
    run_ = store_->get_step(step_)->run_id;
    attempt_ = *store_->create_attempt(step_, 1, "");
  }
  ArtifactRecord output(const std::string &name, char digest) {
    ArtifactRecord record;
    record.digest = std::string(64, digest);
    record.kind = "file";
    record.size_bytes = 3;
    record.output_name = name;
    return record;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  int64_t run_ = 0, step_ = 0, attempt_ = 0;
};

TEST_F(StoreTransitionsTest, FinishAttemptWithOutputsCommitsEverything) {
  auto ids = store_->finish_attempt_with_outputs(attempt_, {"succeeded", "", "", 0, std::nullopt},
                                                 step_, {"succeeded", "", ""},
                                                 {output("model", 'b'), output("log", 'a')});
  ASSERT_TRUE(ids.ok()) << ids.status().to_string();
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_EQ(store_->get_artifact((*ids)[0])->output_name, "model");  // given order
  EXPECT_EQ(store_->get_artifact((*ids)[1])->producer_attempt_id, attempt_);
  EXPECT_EQ(store_->get_attempt(attempt_)->status, "succeeded");
  EXPECT_EQ(store_->get_attempt(attempt_)->exit_code, 0);
  EXPECT_EQ(store_->get_step(step_)->status, "succeeded");
  EXPECT_GT(store_->get_step(step_)->finished_ms, 0);
  EXPECT_EQ(store_->outputs_of_step(step_)->size(), 2u);
}

TEST_F(StoreTransitionsTest, FinishAttemptWithOutputsIsAllOrNothing) {
  ArtifactRecord bad = output("bad", 'c');
  bad.kind = "socket";  // violates the CHECK: the third row fails
  auto ids = store_->finish_attempt_with_outputs(attempt_, {"succeeded", "", "", 0, std::nullopt},
                                                 step_, {"succeeded", "", ""},
                                                 {output("model", 'b'), bad});
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().code(), "storage_error");
  EXPECT_EQ(store_->get_attempt(attempt_)->status, "running");
  EXPECT_EQ(store_->get_step(step_)->status, "queued");
  EXPECT_TRUE(store_->outputs_of_step(step_)->empty());
  // An unknown step also undoes the attempt's end.
  auto missing = store_->finish_attempt_with_outputs(
      attempt_, {"failed", "exit", "", 1, std::nullopt}, 999, {"failed", "exit", ""}, {});
  EXPECT_EQ(missing.status().code(), "not_found");
  EXPECT_EQ(store_->get_attempt(attempt_)->status, "running");
}

TEST_F(StoreTransitionsTest, BeginAttemptThenAttemptRunningRecordEveryRowOfAStart) {
  ArtifactRecord input = output("model", 'b');
  input.producer_attempt_id = attempt_;
  input.step_id = step_;
  auto artifact = store_->add_artifact(input);
  ASSERT_TRUE(artifact.ok());
  Store::AttemptStart start;
  start.step_id = step_;
  start.number = 2;
  start.devices = "cpu";
  start.inputs = {{"in", *artifact}};
  auto attempt = store_->begin_attempt(start);
  ASSERT_TRUE(attempt.ok()) << attempt.status().to_string();
  EXPECT_EQ(store_->get_attempt(*attempt)->status, "running");
  EXPECT_EQ(store_->get_attempt(*attempt)->number, 2);
  EXPECT_EQ(store_->get_attempt(*attempt)->devices, "cpu");
  ASSERT_EQ(store_->inputs_of_attempt(*attempt)->size(), 1u);
  EXPECT_EQ(store_->inputs_of_attempt(*attempt)->front().artifact.id, *artifact);
  EXPECT_EQ(store_->get_step(step_)->status, "queued");  // no worker yet

  Store::AttemptRunning running;
  running.run_id = run_;
  running.start_run = true;
  running.step_id = step_;
  running.attempt_id = *attempt;
  running.pids = {41, 42};
  ASSERT_TRUE(store_->attempt_running(running).ok());
  EXPECT_EQ(store_->get_attempt(*attempt)->pids, (std::vector<int64_t>{41, 42}));
  EXPECT_EQ(store_->get_step(step_)->status, "running");
  EXPECT_GT(store_->get_step(step_)->started_ms, 0);
  EXPECT_EQ(store_->get_run(run_)->status, "running");
  EXPECT_GT(store_->get_run(run_)->started_ms, 0);
}

TEST_F(StoreTransitionsTest, BeginAttemptAndAttemptRunningAreAllOrNothing) {
  Store::AttemptStart start;
  start.step_id = step_;
  start.number = 2;
  start.inputs = {{"in", 999}};  // no such artifact: the lineage row fails
  auto attempt = store_->begin_attempt(start);
  ASSERT_FALSE(attempt.ok());
  EXPECT_EQ(store_->attempts_of_step(step_)->size(), 1u);  // only SetUp's

  Store::AttemptRunning running;
  running.run_id = 999;  // an unknown run fails after the pids: they are undone too
  running.start_run = true;
  running.step_id = step_;
  running.attempt_id = attempt_;
  running.pids = {7};
  EXPECT_EQ(store_->attempt_running(running).code(), "not_found");
  EXPECT_TRUE(store_->get_attempt(attempt_)->pids.empty());
  EXPECT_EQ(store_->get_step(step_)->status, "queued");
}

TEST_F(StoreTransitionsTest, RegisteringAnOutputTwiceReturnsTheSameRow) {
  ArtifactRecord model = output("model", 'b');
  model.producer_attempt_id = attempt_;
  model.step_id = step_;
  auto first = store_->add_artifact(model);
  auto again = store_->add_artifact(model);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(*first, *again);
  EXPECT_EQ(store_->outputs_of_step(step_)->size(), 1u);
  model.digest = std::string(64, 'e');
  auto other = store_->add_artifact(model);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), "conflict");
  // Attempt numbers and attempt inputs are unique too.
  EXPECT_FALSE(store_->create_attempt(step_, 1, "").ok());
  ASSERT_TRUE(store_->add_attempt_input(attempt_, "x", *first).ok());
  ASSERT_TRUE(store_->add_attempt_input(attempt_, "x", *first).ok());
  EXPECT_EQ(store_->inputs_of_attempt(attempt_)->size(), 1u);
}

TEST_F(StoreTransitionsTest, RequeueStepsReopensTheRun) {
  ASSERT_TRUE(store_->set_step_status(step_, "failed", "exit", "boom").ok());
  store_->set_step_progress(step_, 0.5, "half");
  ASSERT_TRUE(store_->set_run_status(run_, "failed", "step s failed").ok());
  ASSERT_TRUE(store_->record_cancel_request(run_).ok());
  ASSERT_TRUE(store_->requeue_steps(run_, {step_}, "retry", "retried by ada").ok());
  auto step = store_->get_step(step_);
  EXPECT_EQ(step->status, "queued");
  EXPECT_EQ(step->reason, "retry");
  EXPECT_EQ(step->finished_ms, 0);
  EXPECT_EQ(step->progress, 0);
  auto run = store_->get_run(run_);
  EXPECT_EQ(run->status, "running");
  EXPECT_EQ(run->finished_ms, 0);
  EXPECT_EQ(run->message, "retried by ada");
  EXPECT_FALSE(run->cancel_requested);

  // A step of another run: nothing changes.
  const int64_t other = testing::make_step(*store_, "other");
  ASSERT_TRUE(store_->set_run_status(run_, "failed", "again").ok());
  EXPECT_EQ(store_->requeue_steps(run_, {step_, other}, "retry", "").code(), "not_found");
  EXPECT_EQ(store_->get_run(run_)->status, "failed");
}

TEST_F(StoreTransitionsTest, CancelRequestSurvivesReopen) {
  EXPECT_FALSE(*store_->run_cancel_requested(run_));
  ASSERT_TRUE(store_->record_cancel_request(run_).ok());
  ASSERT_TRUE(store_->record_cancel_request(run_).ok());  // idempotent
  EXPECT_EQ(store_->record_cancel_request(777).code(), "not_found");
  store_.reset();
  auto reopened = Store::open(dir_.path());
  ASSERT_TRUE(reopened.ok());
  EXPECT_TRUE(*(*reopened)->run_cancel_requested(run_));
  EXPECT_TRUE((*reopened)->get_run(run_)->cancel_requested);
  EXPECT_TRUE((*reopened)->unfinished_runs()->at(0).cancel_requested);
}

TEST_F(StoreTransitionsTest, RunListsCarryTagsButNotTheWorkflow) {
  NewRun tagged = testing::one_step_run("tagged");
  tagged.workflow_json = R"({"name":"tagged","tags":["ablation","518px"]})";
  const int64_t id = *store_->create_run(tagged);
  auto listed = store_->list_runs(std::nullopt, 1, 0);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, id);
  EXPECT_EQ((*listed)[0].tags_json, R"(["ablation","518px"])");
  EXPECT_TRUE((*listed)[0].workflow_json.empty());
  EXPECT_EQ(store_->get_run(id)->workflow_json, tagged.workflow_json);
  EXPECT_EQ(store_->get_run(run_)->tags_json, "[]");
}

}  // namespace
}  // namespace radflow::storage
