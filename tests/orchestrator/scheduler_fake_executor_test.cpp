// The scheduler on a FakeExecutor and a FakeClock: start order, resource
// accounting, backoff, timeouts, cancel, lost attempts and recovery after a
// restart, each driven step by step. No test sleeps: each acts, then waits until
// the scheduling thread and the fake's thread both have nothing left to do
// (FakeClock::wait_for_idle), then looks; the 30 s safety deadline only turns a
// hang into a failure.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "orchestrator/scheduler/attempt_executor_record.h"
#include "orchestrator/scheduler/scheduler.h"
#include "orchestrator/workflow/validate.h"
#include "tests/orchestrator/fake_clock.h"
#include "tests/orchestrator/fake_executor.h"

namespace radflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FakeBehavior;
using testing::FakeClock;
using testing::FakeExecutor;

// The scheduling thread and the fake executor's thread.
constexpr size_t kClockThreads = 2;

// One plugin, "step", with an optional input "in" and an output "out". Its
// descriptor comes from the cache, so no worker ever runs.
PluginInfo step_plugin() {
  PluginInfo info;
  info.name = "step";
  info.version = "1.0.0";
  info.inputs = {{"in", "", true}};
  info.outputs = {{"out", "", true}};
  return info;
}

// A step of the "step" plugin; the cache is off so equal steps all run.
json step(json extra = json::object()) {
  json s = {{"plugin", "step"}, {"cache", false}};
  s.update(extra);
  return s;
}

class SchedulerOnFake : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/radflow-scheduler-fake-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    fs::create_directories(dir_ / "plugins");
    std::ofstream(dir_ / "plugins" / "step.so") << "not a library: described from the cache";
    DescriptorCache cache;
    cache.get = [](const std::string&) { return to_json(step_plugin()).dump(); };
    registry_ = std::make_unique<PluginRegistry>((dir_ / "plugins").string(), "/nonexistent", cache);
    ASSERT_TRUE(registry_->refresh().ok());
    fake_ = std::make_shared<FakeExecutor>(&clock_);
    open_store();
  }

  void TearDown() override {
    scheduler_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void open_store() {
    auto store = storage::Store::open((dir_ / "data").string());
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
    auto artifacts = storage::ArtifactStore::open((dir_ / "data").string());
    ASSERT_TRUE(artifacts.ok()) << artifacts.status().to_string();
    artifacts_ = std::move(artifacts).value();
  }

  // A scheduler on the fake executor (the default) and the fake clock; not started.
  void make_scheduler(double cpus = 4, std::vector<int> gpus = {0, 1}) {
    SchedulerOptions options;
    options.data_dir = (dir_ / "data").string();
    options.worker_path = "/nonexistent";
    options.cpus = cpus;
    options.gpus = std::move(gpus);
    options.retry_backoff_s = 1;
    options.retry_backoff_max_s = 3;
    options.executors = {{"fake", fake_}};
    if (cluster_) options.executors["cluster"] = cluster_;
    options.default_executor = "fake";
    options.clock = &clock_;
    scheduler_ = std::make_unique<Scheduler>(options, store_.get(), artifacts_.get(),
                                             registry_.get(), &bus_);
  }

  void start(double cpus = 4, std::vector<int> gpus = {0, 1}) {
    make_scheduler(cpus, std::move(gpus));
    ASSERT_TRUE(scheduler_->start().ok());
  }

  int64_t submit(const json& steps, json top = json::object()) {
    json workflow = {{"name", "w"}, {"steps", steps}};
    workflow.update(top);
    const std::string text = workflow.dump();
    ValidationResult valid = parse_workflow(text, registry_->plugins(), scheduler_->capacity());
    std::string errors;
    for (const auto& e : valid.errors) errors += e.code + " " + e.path + ": " + e.message + "\n";
    EXPECT_TRUE(valid.ok()) << errors;
    if (!valid.ok()) return 0;
    auto run = scheduler_->submit(*valid.workflow, text);
    EXPECT_TRUE(run.ok()) << run.status().to_string();
    return run.ok() ? *run : 0;
  }

  // Both threads have nothing left to do: what the last action caused is done.
  void settle() {
    const size_t threads = kClockThreads + (cluster_ ? 1 : 0);  // each fake has its thread
    ASSERT_TRUE(clock_.wait_for_idle(threads)) << "the scheduler did not settle";
  }
  void advance_s(double seconds) {
    clock_.advance_s(seconds);
    settle();
  }

  storage::StepRecord step_row(int64_t run, const std::string& name) {
    auto row = store_->find_step(run, name);
    EXPECT_TRUE(row.ok()) << row.status().to_string();
    return row.ok() ? *row : storage::StepRecord{};
  }
  std::string step_status(int64_t run, const std::string& name) { return step_row(run, name).status; }
  std::string run_status(int64_t run) { return store_->get_run(run)->status; }
  std::vector<storage::AttemptRecord> attempts(int64_t run, const std::string& name) {
    return *store_->attempts_of_step(step_row(run, name).id);
  }
  int starts_of(const std::string& name) {
    const auto order = fake_->start_order();
    return static_cast<int>(std::count(order.begin(), order.end(), name));
  }

  fs::path dir_;
  FakeClock clock_;
  EventBus bus_;
  std::unique_ptr<PluginRegistry> registry_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::ArtifactStore> artifacts_;
  std::shared_ptr<FakeExecutor> fake_;
  // An executor with resources of its own (like Slurm), when a test makes one.
  std::shared_ptr<FakeExecutor> cluster_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerOnFake, StartsByPriorityThenOlderRunThenWorkflowOrder) {
  make_scheduler(/*cpus=*/1);  // one step at a time: the start order is the queue's order
  const int64_t first = submit({{"a", step()}, {"b", step({{"priority", 5}})}, {"c", step()}});
  const int64_t second = submit({{"d", step({{"priority", 5}})}, {"e", step()}});
  ASSERT_TRUE(scheduler_->start().ok());
  settle();
  EXPECT_EQ(fake_->start_order(), (std::vector<std::string>{"b", "d", "a", "c", "e"}));
  EXPECT_EQ(run_status(first), "succeeded");
  EXPECT_EQ(run_status(second), "succeeded");
}

TEST_F(SchedulerOnFake, NeverOversubscribesCpusOrGpusAndFreesThemAtTheEnd) {
  start(/*cpus=*/3, /*gpus=*/{0, 1});
  json steps;
  for (const char* name : {"g1", "g2", "g3", "g4"}) {
    steps[name] = step({{"resources", {{"gpus", 1}, {"cpus", 1}}}});
    fake_->script(name, {FakeBehavior::hang()});
  }
  const int64_t run = submit(steps);
  settle();
  // Two GPUs: two attempts, on different devices, though a third CPU slot is free.
  ASSERT_EQ(fake_->live_steps(), (std::vector<std::string>{"g1", "g2"}));
  auto launches = fake_->launches();
  ASSERT_EQ(launches.size(), 2u);
  EXPECT_EQ(launches[0].gpus, std::vector<int>{0});
  EXPECT_EQ(launches[1].gpus, std::vector<int>{1});
  EXPECT_EQ(launches[0].env["RADFLOW_CPUS"], "1");
  EXPECT_EQ(launches[0].run_id, run);
  EXPECT_EQ(launches[0].step_name, "g1");
  EXPECT_GT(launches[0].attempt_id, 0);
  // The end of g2 frees GPU 1 for g3; g4 still waits.
  ASSERT_TRUE(fake_->finish("g2", FakeBehavior::succeed()));
  settle();
  EXPECT_EQ(fake_->live_steps(), (std::vector<std::string>{"g1", "g3"}));
  EXPECT_EQ(fake_->launches().back().gpus, std::vector<int>{1});
  for (const char* name : {"g1", "g3"}) ASSERT_TRUE(fake_->finish(name, FakeBehavior::succeed()));
  settle();
  EXPECT_EQ(fake_->live_steps(), std::vector<std::string>{"g4"});
  ASSERT_TRUE(fake_->finish("g4", FakeBehavior::succeed()));
  settle();
  EXPECT_EQ(run_status(run), "succeeded");
  EXPECT_EQ(starts_of("g4"), 1);
}

TEST_F(SchedulerOnFake, CpuSlotsAndMaxParallelBoundWhatRuns) {
  start(/*cpus=*/2, /*gpus=*/{});
  json steps;
  for (const char* name : {"a", "b", "c"}) {
    steps[name] = step();
    fake_->script(name, {FakeBehavior::hang()});
  }
  const int64_t wide = submit(steps);
  settle();
  EXPECT_EQ(fake_->live_steps(), (std::vector<std::string>{"a", "b"}));  // two CPU slots
  ASSERT_TRUE(fake_->finish("a", FakeBehavior::succeed()));
  settle();
  EXPECT_EQ(fake_->live_steps(), (std::vector<std::string>{"b", "c"}));
  for (const char* name : {"b", "c"}) ASSERT_TRUE(fake_->finish(name, FakeBehavior::succeed()));
  settle();
  EXPECT_EQ(run_status(wide), "succeeded");

  json narrow_steps;
  for (const char* name : {"x", "y"}) {
    narrow_steps[name] = step();
    fake_->script(name, {FakeBehavior::hang()});
  }
  const int64_t narrow = submit(narrow_steps, {{"max_parallel", 1}});
  settle();
  EXPECT_EQ(fake_->live_steps(), std::vector<std::string>{"x"});  // a slot is free, the run's limit is not
  ASSERT_TRUE(fake_->finish("x", FakeBehavior::succeed()));
  settle();
  EXPECT_EQ(fake_->live_steps(), std::vector<std::string>{"y"});
  ASSERT_TRUE(fake_->finish("y", FakeBehavior::succeed()));
  settle();
  EXPECT_EQ(run_status(narrow), "succeeded");
}

// An attempt's slots go back to the pool when its workers exit, not once radflow
// has taken its outputs in: hashing and moving a large output must not keep a CPU
// slot or a GPU idle. The step's output plan (ingest.json) is made a FIFO here, so
// taking the outputs in blocks on it until the test writes; the next step must
// start meanwhile.
TEST_F(SchedulerOnFake, SlotsAreFreedWhenTheWorkersExitBeforeTheOutputsAreTakenIn) {
  start(/*cpus=*/1, /*gpus=*/{});
  fake_->script("a", {FakeBehavior::hang()});
  const int64_t run = submit({{"a", step()}, {"b", step()}});
  settle();
  ASSERT_EQ(fake_->live_steps(), std::vector<std::string>{"a"});  // one slot
  const fs::path plan = dir_ / "data" / "runs" / std::to_string(run) / "a" / "attempt-1" /
                        "ingest.json";
  ASSERT_EQ(mkfifo(plan.c_str(), 0600), 0) << plan;
  ASSERT_TRUE(fake_->finish("a", FakeBehavior::succeed({{"out", "made by a"}})));

  // Real time: the fake's thread is held in a's end callback, so the clock never
  // settles until the plan is written. The deadline only turns a hang into a failure.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (starts_of("b") == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(starts_of("b"), 1) << "b waited for a's outputs to be taken in";
  EXPECT_EQ(step_status(run, "a"), "running");  // a's end is not recorded yet

  // Not a plan: it is ignored and made again from a's outputs.
  std::ofstream(plan) << "null";
  settle();
  EXPECT_EQ(run_status(run), "succeeded");
  auto outputs = store_->outputs_of_step(step_row(run, "a").id);
  ASSERT_TRUE(outputs.ok()) << outputs.status().to_string();
  ASSERT_EQ(outputs->size(), 1u);
}

// Steps on an executor with resources of its own (Slurm) are not charged to the
// daemon's CPU slots and GPUs: they start while the local pool is spent, ask for
// more GPUs than this machine has, and their end frees nothing locally.
TEST_F(SchedulerOnFake, StepsOnAnExecutorWithItsOwnResourcesLeaveTheLocalPoolAlone) {
  ExecutorLimits own;
  own.max_gpus = 8;
  own.resources = ResourceOwner::kExecutor;
  cluster_ = std::make_shared<FakeExecutor>(&clock_, "cluster", own);
  start(/*cpus=*/1, /*gpus=*/{});
  json steps;
  for (const char* name : {"a_local", "b_local"}) {
    steps[name] = step();
    fake_->script(name, {FakeBehavior::hang()});
  }
  for (const char* name : {"c_cluster", "d_cluster"}) {
    steps[name] = step({{"executor", "cluster"},
                        {"resources", {{"gpus", 4}, {"cpus", 16}, {"memory_gb", 64}, {"ranks", 2}}}});
    cluster_->script(name, {FakeBehavior::hang()});
  }
  const int64_t run = submit(steps);
  settle();
  // a_local holds the one CPU slot; both cluster steps run beside it anyway.
  EXPECT_EQ(fake_->live_steps(), std::vector<std::string>{"a_local"});
  EXPECT_EQ(cluster_->live_steps(), (std::vector<std::string>{"c_cluster", "d_cluster"}));
  const AttemptLaunch remote = cluster_->launches().at(0);
  EXPECT_TRUE(remote.gpus.empty()) << "no local device is handed to a cluster step";
  EXPECT_EQ(remote.gpu_count, 4);
  EXPECT_EQ(remote.cpus, 16);
  EXPECT_EQ(remote.memory_gb, 64);
  EXPECT_EQ(remote.ranks, 2);
  EXPECT_EQ(remote.env.at("RADFLOW_CPUS"), "16");
  EXPECT_EQ(attempts(run, "c_cluster").at(0).devices, "cluster: 4 GPUs");
  EXPECT_EQ(fake_->launches().at(0).cpus, 1);

  // Their end frees no local slot: b_local still waits for a_local.
  for (const char* name : {"c_cluster", "d_cluster"}) {
    ASSERT_TRUE(cluster_->finish(name, FakeBehavior::succeed()));
  }
  settle();
  EXPECT_EQ(fake_->live_steps(), std::vector<std::string>{"a_local"});
  ASSERT_TRUE(fake_->finish("a_local", FakeBehavior::succeed()));
  settle();
  EXPECT_EQ(fake_->live_steps(), std::vector<std::string>{"b_local"});
  ASSERT_TRUE(fake_->finish("b_local", FakeBehavior::succeed()));
  settle();
  EXPECT_EQ(run_status(run), "succeeded");
}

// The scheduling thread does not wait for the "running" rows: they are committed
// with whatever else is queued, and only then announced, so a client that hears
// "running" reads it.
TEST_F(SchedulerOnFake, RunningIsAnnouncedOnlyOnceItsRowsAreCommitted) {
  fake_->script("a", {FakeBehavior::hang()});
  auto events = bus_.subscribe();
  start();
  const int64_t run = submit({{"a", step()}});
  std::string status_when_announced;
  std::string run_status_when_announced;
  for (int i = 0; i < 100 && status_when_announced.empty(); ++i) {
    auto event = events->next(std::chrono::milliseconds(100));
    if (event && (*event)["type"] == "step" && (*event)["status"] == "running") {
      status_when_announced = step_status(run, "a");
      run_status_when_announced = run_status(run);
    }
  }
  EXPECT_EQ(status_when_announced, "running");
  EXPECT_EQ(run_status_when_announced, "running");
  settle();
  ASSERT_TRUE(fake_->finish("a", FakeBehavior::succeed()));
  settle();
  EXPECT_EQ(run_status(run), "succeeded");
}

// A refused "running" write (which the scheduling thread no longer waits for)
// still fails the run and stops its attempt, naming the step and the cause.
TEST_F(SchedulerOnFake, ARefusedRunningWriteFailsTheRunAndStopsTheAttempt) {
  {
    auto db = storage::Database::open((dir_ / "data" / "radflow.db").string(),
                                      storage::Database::Mode::kReadWrite);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    ASSERT_TRUE((*db)->exec("CREATE TRIGGER refuse_pids BEFORE UPDATE OF pids ON attempts "
                            "BEGIN SELECT RAISE(ABORT, 'the disk said no'); END",
                            "create trigger")
                    .ok());
  }
  fake_->script("a", {FakeBehavior::hang()});
  start();
  const int64_t run = submit({{"a", step()}, {"b", step({{"inputs", {{"in", "a.out"}}}})}});
  settle();
  EXPECT_EQ(run_status(run), "failed");
  EXPECT_TRUE(fake_->live_steps().empty());
  const auto record = store_->get_run(run);
  ASSERT_TRUE(record.ok());
  EXPECT_NE(record->message.find("cannot record step a as running"), std::string::npos)
      << record->message;
  EXPECT_NE(record->message.find("the disk said no"), std::string::npos) << record->message;
  EXPECT_EQ(step_status(run, "b"), "cancelled");
}

// A graceful stop lets an attempt that can outlive the daemon (a Slurm job) run
// on, recorded as running, and stops the local ones (lost, requeued); the next
// start adopts the detached attempt, which ends through the normal path.
TEST_F(SchedulerOnFake, AGracefulStopDetachesAttemptsThatOutliveTheDaemon) {
  ExecutorLimits own;
  own.resources = ResourceOwner::kExecutor;
  cluster_ = std::make_shared<FakeExecutor>(&clock_, "cluster", own);
  start();
  fake_->script("here", {FakeBehavior::hang(), FakeBehavior::succeed()});
  cluster_->script("there", {FakeBehavior::hang()});
  const int64_t run = submit({{"here", step()}, {"there", step({{"executor", "cluster"}})}});
  settle();
  ASSERT_EQ(fake_->live_steps(), std::vector<std::string>{"here"});
  ASSERT_EQ(cluster_->live_steps(), std::vector<std::string>{"there"});

  scheduler_->shutdown();
  EXPECT_EQ(cluster_->detached_steps(), std::vector<std::string>{"there"});
  EXPECT_TRUE(fake_->live_steps().empty());
  EXPECT_EQ(attempts(run, "there").at(0).status, "running");
  EXPECT_EQ(step_status(run, "there"), "running");
  EXPECT_EQ(attempts(run, "here").at(0).status, "lost");
  EXPECT_EQ(attempts(run, "here").at(0).reason, "daemon_shutdown");
  EXPECT_EQ(step_status(run, "here"), "queued");

  scheduler_.reset();
  cluster_->script_recovery("there", RecoveredAttempt::State::kAdopted);
  start();
  settle();
  EXPECT_EQ(cluster_->recover_calls(), 1);
  EXPECT_EQ(cluster_->live_steps(), std::vector<std::string>{"there"});
  EXPECT_EQ(starts_of("here"), 2);
  ASSERT_TRUE(cluster_->finish("there", FakeBehavior::succeed()));
  settle();
  EXPECT_EQ(run_status(run), "succeeded");
  ASSERT_EQ(attempts(run, "there").size(), 1u) << "adopted, not run again";
  EXPECT_EQ(attempts(run, "there").at(0).status, "succeeded");
}

TEST_F(SchedulerOnFake, RetriesAfterABackoffThatDoublesUpToItsMaximum) {
  start();
  fake_->script("flaky", {FakeBehavior::fail(), FakeBehavior::fail(), FakeBehavior::fail(),
                          FakeBehavior::succeed()});
  const int64_t run = submit({{"flaky", step({{"retries", 3}})}});
  settle();
  ASSERT_EQ(starts_of("flaky"), 1);
  EXPECT_EQ(step_status(run, "flaky"), "queued");
  // Backoffs 1 s, 2 s, then 3 s (4 s capped by retry_backoff_max_s): each attempt
  // starts exactly when its backoff has passed on the clock, not a tick before.
  int expected_starts = 1;
  for (double backoff_s : {1.0, 2.0, 3.0}) {
    advance_s(backoff_s - 0.001);
    EXPECT_EQ(starts_of("flaky"), expected_starts) << "restarted before its " << backoff_s << " s backoff";
    advance_s(0.001);
    EXPECT_EQ(starts_of("flaky"), ++expected_starts) << "not restarted after its " << backoff_s << " s backoff";
  }
  EXPECT_EQ(step_status(run, "flaky"), "succeeded");
  EXPECT_EQ(run_status(run), "succeeded");
  const auto rows = attempts(run, "flaky");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].status, "failed");
  EXPECT_EQ(rows[0].reason, "plugin_failed");
  EXPECT_EQ(rows[3].status, "succeeded");
}

TEST_F(SchedulerOnFake, FailsAStepOnceItsRetriesAreSpent) {
  start();
  fake_->script("bad", {FakeBehavior::fail("crashed")});
  const int64_t run = submit({{"bad", step({{"retries", 1}})}, {"after", step({{"inputs", {{"in", "bad.out"}}}})}});
  settle();
  advance_s(1);
  EXPECT_EQ(starts_of("bad"), 2);
  EXPECT_EQ(step_status(run, "bad"), "failed");
  EXPECT_EQ(step_row(run, "bad").reason, "crashed");
  EXPECT_EQ(step_status(run, "after"), "cancelled");
  EXPECT_EQ(step_row(run, "after").reason, "upstream_failed");
  EXPECT_EQ(run_status(run), "failed");
  EXPECT_EQ(starts_of("after"), 0);
}

TEST_F(SchedulerOnFake, TimesOutAttemptsOnTheClockAndRetriesThem) {
  start();
  fake_->script("slow", {FakeBehavior::hang()});
  const int64_t run = submit({{"slow", step({{"timeout_s", 10}, {"retries", 1}})}});
  settle();
  EXPECT_EQ(fake_->launches().at(0).timeout_s, 10);
  advance_s(9.999);
  EXPECT_EQ(step_status(run, "slow"), "running");
  advance_s(0.001);
  EXPECT_EQ(step_status(run, "slow"), "queued");  // retried after its backoff
  EXPECT_EQ(attempts(run, "slow").at(0).reason, "timeout");
  advance_s(1);
  EXPECT_EQ(starts_of("slow"), 2);
  advance_s(10);
  EXPECT_EQ(step_status(run, "slow"), "failed");
  EXPECT_EQ(step_row(run, "slow").reason, "timeout");
  EXPECT_EQ(run_status(run), "failed");
}

TEST_F(SchedulerOnFake, CancelStopsTheRunningAttemptAndCancelsTheQueuedSteps) {
  start(/*cpus=*/1, /*gpus=*/{});
  fake_->script("a", {FakeBehavior::hang()});
  const int64_t run = submit({{"a", step()},
                              {"b", step({{"inputs", {{"in", "a.out"}}}})},
                              {"c", step()}});
  settle();
  ASSERT_EQ(fake_->live_steps(), std::vector<std::string>{"a"});
  EXPECT_EQ(step_status(run, "c"), "queued");  // no free slot
  ASSERT_TRUE(scheduler_->cancel(run).ok());
  settle();
  EXPECT_TRUE(fake_->live_steps().empty());
  EXPECT_EQ(attempts(run, "a").at(0).status, "cancelled");
  for (const char* name : {"a", "b", "c"}) EXPECT_EQ(step_status(run, name), "cancelled") << name;
  EXPECT_EQ(run_status(run), "cancelled");
  EXPECT_EQ(fake_->start_order(), std::vector<std::string>{"a"});
}

TEST_F(SchedulerOnFake, ALostAttemptRunsAgainAtOnceWithoutCountingAsAFailure) {
  start();
  fake_->script("node", {FakeBehavior::lost(), FakeBehavior::lost(),
                         FakeBehavior::succeed({{"out", "made"}})});
  const int64_t run = submit({{"node", step({{"retries", 0}})}});
  settle();  // no backoff: nothing on the clock has to pass
  EXPECT_EQ(starts_of("node"), 3);
  EXPECT_EQ(step_status(run, "node"), "succeeded");
  const auto rows = attempts(run, "node");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].status, "lost");
  EXPECT_EQ(rows[0].reason, "lost");
  EXPECT_EQ(rows[1].status, "lost");
  EXPECT_EQ(rows[2].status, "succeeded");
  auto outputs = store_->outputs_of_step(step_row(run, "node").id);
  ASSERT_TRUE(outputs.ok());
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ(outputs->at(0).output_name, "out");
}

// Recovery: the rows and folder a daemon killed while `train` ran leave behind
// (an attempt row "running", executor.json naming the fake), then a scheduler
// started on the same store.
class SchedulerRecovery : public SchedulerOnFake {
 protected:
  // Submits a run whose step `train` (with a downstream `eval`) was running
  // attempt 1 on the fake executor when the daemon died.
  int64_t crashed_while_running() {
    make_scheduler();
    const int64_t run = submit({{"train", step()}, {"eval", step({{"inputs", {{"in", "train.out"}}}})}});
    scheduler_.reset();  // never started: only the rows exist
    const auto train = step_row(run, "train");
    storage::Store::AttemptStart begin;
    begin.step_id = train.id;
    begin.number = 1;
    begin.devices = "cpu";
    auto attempt = store_->begin_attempt(begin);
    EXPECT_TRUE(attempt.ok());
    storage::Store::AttemptRunning running;
    running.run_id = run;
    running.start_run = true;
    running.step_id = train.id;
    running.attempt_id = *attempt;
    EXPECT_TRUE(store_->attempt_running(running).ok());
    const fs::path attempt_dir = dir_ / "data" / "runs" / std::to_string(run) / "train" / "attempt-1";
    EXPECT_TRUE(record_attempt_executor(attempt_dir.string(), "fake").ok());
    return run;
  }
};

TEST_F(SchedulerRecovery, AnAdoptedAttemptEndsThroughTheNormalPath) {
  const int64_t run = crashed_while_running();
  fake_->script_recovery("train", RecoveredAttempt::State::kAdopted);
  start();
  settle();
  EXPECT_EQ(fake_->recover_calls(), 1);
  EXPECT_EQ(step_status(run, "train"), "running");  // still its attempt 1
  EXPECT_EQ(attempts(run, "train").at(0).status, "running");
  EXPECT_EQ(fake_->live_steps(), std::vector<std::string>{"train"});
  EXPECT_EQ(step_status(run, "eval"), "queued");
  ASSERT_TRUE(fake_->finish("train", FakeBehavior::succeed({{"out", "weights"}})));
  settle();
  const auto rows = attempts(run, "train");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "succeeded");
  EXPECT_EQ(step_status(run, "train"), "succeeded");
  EXPECT_EQ(fake_->start_order(), std::vector<std::string>{"eval"});  // train never restarted
  EXPECT_EQ(run_status(run), "succeeded");
}

TEST_F(SchedulerRecovery, AnAttemptThatFinishedWhileDownIsTakenInWithoutRerunning) {
  const int64_t run = crashed_while_running();
  fake_->script_recovery("train", RecoveredAttempt::State::kFinished,
                         FakeBehavior::succeed({{"out", "weights"}}));
  start();
  settle();
  const auto rows = attempts(run, "train");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "succeeded");
  EXPECT_EQ(rows[0].reason, "recovered");
  EXPECT_EQ(fake_->start_order(), std::vector<std::string>{"eval"});
  EXPECT_EQ(run_status(run), "succeeded");
}

TEST_F(SchedulerRecovery, AGoneAttemptRunsAgain) {
  const int64_t run = crashed_while_running();
  fake_->script_recovery("train", RecoveredAttempt::State::kGone);
  fake_->script("train", {FakeBehavior::succeed({{"out", "weights"}})});
  start();
  settle();
  const auto rows = attempts(run, "train");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].status, "lost");
  EXPECT_EQ(rows[1].status, "succeeded");
  EXPECT_EQ(fake_->launches().at(0).attempt_number, 2);
  EXPECT_EQ(fake_->start_order(), (std::vector<std::string>{"train", "eval"}));
  EXPECT_EQ(run_status(run), "succeeded");
}

}  // namespace
}  // namespace radflow
