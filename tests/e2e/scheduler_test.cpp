// The scheduler on a real daemon: slots and GPUs never over-committed, multi-rank
// environments, timeouts with retries, cancellation, the step cache and retrying a
// failed run.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

using std::chrono::seconds;

struct Interval {
  int64_t start_ms, end_ms;
  std::string devices;
};

std::vector<Interval> attempt_intervals(const nlohmann::json& run) {
  std::vector<Interval> out;
  for (const auto& step : run["steps"]) {
    for (const auto& a : step["attempts"]) {
      out.push_back({a["started_ms"].get<int64_t>(), a["finished_ms"].get<int64_t>(),
                     a["devices"].get<std::string>()});
    }
  }
  return out;
}

bool overlap(const Interval& a, const Interval& b) {
  return a.start_ms < b.end_ms && b.start_ms < a.end_ms;
}

// The most attempts running at one moment.
int max_concurrency(const std::vector<Interval>& intervals) {
  int best = 0;
  for (const auto& at : intervals) {
    int n = 0;
    for (const auto& other : intervals) n += other.start_ms <= at.start_ms && at.start_ms < other.end_ms;
    best = std::max(best, n);
  }
  return best;
}

bool process_alive(int64_t pid) { return kill(static_cast<pid_t>(pid), 0) == 0; }

TEST(Scheduler, WideFanOutNeverRunsMoreAttemptsThanSlots) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "2"});
  nlohmann::json workflow = {{"name", "fan-out"}, {"steps", nlohmann::json::object()}};
  for (int i = 0; i < 12; ++i) {
    workflow["steps"]["s" + std::to_string(i)] = {
        {"plugin", "test-ok"}, {"params", {{"sleep_ms", 150}}}, {"cache", false}};
  }
  auto run = daemon.wait_for_run(submit(daemon, workflow), seconds(60));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  EXPECT_EQ(max_concurrency(attempt_intervals(run)), 2);

  // A per-run limit below the slots.
  workflow["max_parallel"] = 1;
  const int64_t limited = submit(daemon, workflow);
  bool saw_reason = false;
  for (int i = 0; i < 100 && !saw_reason; ++i) {
    auto state = daemon.get("/api/v1/runs/" + std::to_string(limited));
    for (const auto& step : state["steps"]) {
      saw_reason |= step["waiting"].is_string() &&
                    step["waiting"].get<std::string>().find("max_parallel") != std::string::npos;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(saw_reason);
  run = daemon.wait_for_run(limited, seconds(60));
  ASSERT_EQ(run["status"], "succeeded");
  EXPECT_EQ(max_concurrency(attempt_intervals(run)), 1);
}

TEST(Scheduler, GpuPlacementOnAFakeDeviceListIsDisjoint) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "8", "--gpus", "0,2,5"});
  nlohmann::json workflow = {{"name", "gpus"}, {"steps", nlohmann::json::object()}};
  for (int i = 0; i < 7; ++i) {
    workflow["steps"]["g" + std::to_string(i)] = {
        {"plugin", "test-ok"}, {"params", {{"sleep_ms", 200}}}, {"resources", {{"gpus", 1}}}};
  }
  workflow["steps"]["pair"] = {{"plugin", "test-ranks"}, {"resources", {{"gpus", 2}}}};
  const int64_t run_id = submit(daemon, workflow);
  auto run = daemon.wait_for_run(run_id, seconds(60));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  auto intervals = attempt_intervals(run);
  EXPECT_LE(max_concurrency(intervals), 3);
  for (size_t i = 0; i < intervals.size(); ++i) {
    EXPECT_TRUE(intervals[i].devices == "cuda:0" || intervals[i].devices == "cuda:2" ||
                intervals[i].devices == "cuda:5" || intervals[i].devices.find(',') != std::string::npos)
        << intervals[i].devices;
    for (size_t j = i + 1; j < intervals.size(); ++j) {
      if (!overlap(intervals[i], intervals[j])) continue;
      for (const char* gpu : {"0", "2", "5"}) {
        const bool in_i = intervals[i].devices.find(gpu) != std::string::npos;
        const bool in_j = intervals[j].devices.find(gpu) != std::string::npos;
        EXPECT_FALSE(in_i && in_j) << intervals[i].devices << " and " << intervals[j].devices;
      }
    }
  }
  // The 2-GPU step saw exactly its two devices.
  auto outputs = daemon.get("/api/v1/runs/" + std::to_string(run_id) + "/steps/pair/outputs");
  const std::string artifact = std::to_string(outputs[0]["artifact"].get<int64_t>());
  auto env = daemon.get("/api/v1/artifacts/" + artifact + "/content/env-0.json");
  const std::string visible = env["env"]["CUDA_VISIBLE_DEVICES"];
  EXPECT_EQ(visible.size(), 3u) << visible;  // "a,b"
  EXPECT_EQ(env["host"]["device"], "cuda:0");
}

TEST(Scheduler, TwoRankStepSeesTorchrunEnvironment) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "4"});
  const int64_t run_id = submit(daemon, {{"name", "ranks"},
                                         {"steps", {{"dist", {{"plugin", "test-ranks"},
                                                              {"resources", {{"ranks", 2}}}}}}}});
  auto run = daemon.wait_for_run(run_id, seconds(60));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  auto outputs = daemon.get("/api/v1/runs/" + std::to_string(run_id) + "/steps/dist/outputs");
  const std::string base = "/api/v1/artifacts/" + std::to_string(outputs[0]["artifact"].get<int64_t>()) + "/content/";
  auto rank0 = daemon.get(base + "env-0.json");
  auto rank1 = daemon.get(base + "env-1.json");
  EXPECT_EQ(rank0["env"]["RANK"], "0");
  EXPECT_EQ(rank1["env"]["RANK"], "1");
  EXPECT_EQ(rank0["env"]["LOCAL_RANK"], "0");
  EXPECT_EQ(rank1["env"]["LOCAL_RANK"], "1");
  for (const auto& r : {rank0, rank1}) {
    EXPECT_EQ(r["env"]["WORLD_SIZE"], "2");
    EXPECT_EQ(r["env"]["MASTER_ADDR"], "127.0.0.1");
    EXPECT_EQ(r["env"]["CUDA_VISIBLE_DEVICES"], "");
    EXPECT_EQ(r["host"]["world_size"], 2);
    EXPECT_EQ(r["host"]["device"], "cpu");
  }
  EXPECT_EQ(rank0["env"]["MASTER_PORT"], rank1["env"]["MASTER_PORT"]);
  EXPECT_GT(std::stoi(rank0["env"]["MASTER_PORT"].get<std::string>()), 0);
  EXPECT_EQ(rank1["host"]["rank"], 1);
}

TEST(Scheduler, WhenOneRankDiesTheOthersAreStopped) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "4"});
  const int64_t run_id = submit(
      daemon, {{"name", "rank-failure"},
               {"steps", {{"dist", {{"plugin", "test-ranks"},
                                    {"params", {{"fail_rank", 1}}},
                                    {"resources", {{"ranks", 3}}}}}}}});
  auto run = daemon.wait_for_run(run_id, seconds(60));
  auto step = Daemon::step_of(run, "dist");
  ASSERT_EQ(step["status"], "failed") << run.dump(2);
  EXPECT_EQ(step["reason"], "plugin_failed");
  EXPECT_NE(step["message"].get<std::string>().find("rank 1 failed: rank 1 lost its GPU"),
            std::string::npos)
      << step["message"];
  for (const auto& pid : step["attempts"][0]["pids"]) EXPECT_FALSE(process_alive(pid));
}

TEST(Scheduler, HangTimesOutAndTheRetrySucceeds) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  const int64_t run_id = submit(
      daemon, {{"name", "flaky"},
               {"steps", {{"flaky", {{"plugin", "test-flaky"}, {"timeout_s", 1}, {"retries", 1}}}}}});
  auto run = daemon.wait_for_run(run_id, seconds(60));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  auto step = Daemon::step_of(run, "flaky");
  ASSERT_EQ(step["attempts"].size(), 2u);
  EXPECT_EQ(step["attempts"][0]["status"], "failed");
  EXPECT_EQ(step["attempts"][0]["reason"], "timeout");
  EXPECT_EQ(step["attempts"][0]["signal"], SIGKILL);  // it ignored SIGTERM
  EXPECT_EQ(step["attempts"][1]["status"], "succeeded");
  for (const auto& pid : step["attempts"][0]["pids"]) EXPECT_FALSE(process_alive(pid));
}

TEST(Scheduler, CancelStopsRunningWorkersWithinTheGracePeriod) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "4"});  // --grace-s 1
  const int64_t run_id = submit(
      daemon, {{"name", "cancel"},
               {"steps", {{"stuck", {{"plugin", "test-hang"}}},
                          {"polite", {{"plugin", "test-cancellable"}}},
                          {"later", {{"plugin", "test-ok"}, {"inputs", {{"in", "ok.out"}}}}},
                          {"ok", {{"plugin", "test-ok"}, {"params", {{"sleep_ms", 60000}}}}}}}});
  nlohmann::json run;
  for (int i = 0; i < 200; ++i) {
    run = daemon.get("/api/v1/runs/" + std::to_string(run_id));
    if (Daemon::step_of(run, "stuck")["status"] == "running" &&
        Daemon::step_of(run, "polite")["status"] == "running") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  std::vector<int64_t> pids;
  for (const char* name : {"stuck", "polite"}) {
    const nlohmann::json step = Daemon::step_of(run, name);
    for (const auto& pid : step["attempts"][0]["pids"]) pids.push_back(pid);
  }
  ASSERT_EQ(pids.size(), 2u) << run.dump(2);
  auto [status, body] = daemon.post("/api/v1/runs/" + std::to_string(run_id) + "/cancel", "");
  ASSERT_EQ(status, 202) << body.dump();
  const auto cancelled_at = std::chrono::steady_clock::now();
  run = daemon.wait_for_run(run_id, seconds(30));
  EXPECT_EQ(run["status"], "cancelled");
  for (int64_t pid : pids) EXPECT_FALSE(process_alive(pid));
  // Grace 1 s, plus the scheduler's and the test's polling.
  EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, seconds(4));
  EXPECT_EQ(Daemon::step_of(run, "stuck")["attempts"][0]["signal"], SIGKILL);
  EXPECT_EQ(Daemon::step_of(run, "polite")["attempts"][0]["reason"], "cancelled");
  EXPECT_EQ(Daemon::step_of(run, "later")["status"], "cancelled");
  EXPECT_EQ(Daemon::step_of(run, "later")["attempts"].size(), 0u);
}

nlohmann::json cache_workflow(int a_value, bool d_cache) {
  return {{"name", "cache"},
          {"steps",
           {{"a", {{"plugin", "test-ok"}, {"params", {{"value", a_value}}}}},
            // Distinct values: the cache is content-addressed across step names, so
            // b and c must never compute what another step already did.
            {"b", {{"plugin", "test-ok"}, {"params", {{"value", 10}}}, {"inputs", {{"in", "a.out"}}}}},
            {"c", {{"plugin", "test-ok"}, {"params", {{"value", 100}}}, {"inputs", {{"in", "b.out"}}}}},
            {"d", {{"plugin", "test-ok"}, {"params", {{"value", 5}}}, {"cache", d_cache}}}}}};
}

TEST(Scheduler, IdenticalWorkflowIsServedFromTheCacheAndAParamChangeInvalidatesDownstream) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  auto first = daemon.wait_for_run(submit(daemon, cache_workflow(1, true)), seconds(60));
  ASSERT_EQ(first["status"], "succeeded");

  auto second = daemon.wait_for_run(submit(daemon, cache_workflow(1, true)), seconds(60));
  ASSERT_EQ(second["status"], "succeeded");
  for (const char* name : {"a", "b", "c", "d"}) {
    auto step = Daemon::step_of(second, name);
    EXPECT_EQ(step["status"], "cached") << name;
    EXPECT_EQ(step["reason"], "cache_hit");
    EXPECT_EQ(step["attempts"].size(), 0u);
    EXPECT_EQ(step["cached_from_step"], Daemon::step_of(first, name)["id"]);
    EXPECT_EQ(step["cached_from"], (nlohmann::json{{"run_id", first["id"]}, {"step", name}})) << step.dump();
    EXPECT_NE(step["message"].get<std::string>().find("run 1"), std::string::npos);
  }
  auto c1 = daemon.get("/api/v1/runs/1/steps/c/outputs");
  auto c2 = daemon.get("/api/v1/runs/2/steps/c/outputs");
  EXPECT_EQ(c1[0]["digest"], c2[0]["digest"]);

  // a's value changes: a and everything downstream of it run; d does not.
  auto third = daemon.wait_for_run(submit(daemon, cache_workflow(2, true)), seconds(60));
  ASSERT_EQ(third["status"], "succeeded");
  for (const char* name : {"a", "b", "c"}) EXPECT_EQ(Daemon::step_of(third, name)["status"], "succeeded") << name;
  EXPECT_EQ(Daemon::step_of(third, "d")["status"], "cached");
  auto c3 = daemon.get("/api/v1/runs/3/steps/c/outputs");
  EXPECT_NE(c3[0]["digest"], c1[0]["digest"]);

  // "cache": false always runs.
  auto fourth = daemon.wait_for_run(submit(daemon, cache_workflow(2, false)), seconds(60));
  EXPECT_EQ(Daemon::step_of(fourth, "d")["status"], "succeeded");
  EXPECT_EQ(Daemon::step_of(fourth, "a")["status"], "cached");
}

TEST(Scheduler, RetryingAFailedRunRerunsOnlyWhatDidNotSucceed) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  const int64_t run_id = submit(
      daemon, {{"name", "retry-run"},
               {"steps", {{"flaky", {{"plugin", "test-flaky"}, {"timeout_s", 1}}},
                          {"after", {{"plugin", "test-ok"}, {"inputs", {{"in", "flaky.out"}}}}},
                          {"solid", {{"plugin", "test-ok"}}}}}});
  auto run = daemon.wait_for_run(run_id, seconds(60));
  ASSERT_EQ(run["status"], "failed");
  EXPECT_EQ(Daemon::step_of(run, "after")["reason"], "upstream_failed");

  auto [status, body] = daemon.post("/api/v1/runs/" + std::to_string(run_id) + "/retry", "");
  ASSERT_EQ(status, 202) << body.dump();
  run = daemon.wait_for_run(run_id, seconds(60));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  EXPECT_EQ(Daemon::step_of(run, "flaky")["attempts"].size(), 2u);
  EXPECT_EQ(Daemon::step_of(run, "after")["attempts"].size(), 1u);
  EXPECT_EQ(Daemon::step_of(run, "solid")["attempts"].size(), 1u);  // not run again

  auto [again, reply] = daemon.post("/api/v1/runs/" + std::to_string(run_id) + "/retry", "");
  EXPECT_EQ(again, 202);  // nothing left to retry: succeeds at once
}

}  // namespace
}  // namespace radflow::test

namespace radflow::test {
namespace {

TEST(Scheduler, RerunningAStepRunsItAndItsDownstreamOnly) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  const int64_t run_id = submit(
      daemon, {{"name", "rerun"},
               {"steps", {{"a", {{"plugin", "test-ok"}, {"params", {{"value", 1}}}}},
                          {"b", {{"plugin", "test-ok"}, {"params", {{"value", 10}}},
                                 {"inputs", {{"in", "a.out"}}}}},
                          {"side", {{"plugin", "test-ok"}, {"params", {{"value", 7}}}}}}}});
  ASSERT_EQ(daemon.wait_for_run(run_id, seconds(60))["status"], "succeeded");
  auto [status, body] = daemon.post("/api/v1/runs/" + std::to_string(run_id) + "/steps/a/rerun", "");
  ASSERT_EQ(status, 202) << body.dump();
  auto run = daemon.wait_for_run(run_id, seconds(60));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  // a ran again despite an identical cache key, and so did b after it (a step is
  // never served from its own earlier result); side was left alone.
  EXPECT_EQ(Daemon::step_of(run, "a")["attempts"].size(), 2u);
  EXPECT_EQ(Daemon::step_of(run, "a")["status"], "succeeded");
  EXPECT_EQ(Daemon::step_of(run, "b")["attempts"].size(), 2u);
  EXPECT_EQ(Daemon::step_of(run, "b")["status"], "succeeded");
  EXPECT_EQ(Daemon::step_of(run, "side")["attempts"].size(), 1u);
  auto [missing, reply] = daemon.post("/api/v1/runs/" + std::to_string(run_id) + "/steps/nope/rerun", "");
  EXPECT_EQ(missing, 404);
}

}  // namespace
}  // namespace radflow::test
