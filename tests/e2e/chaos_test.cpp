// Crash recovery: radflowd is killed with SIGKILL at 10 random moments of a 20-step
// workflow and restarted each time. In the end every step has succeeded exactly once
// and the database is intact. A second test kills it while clients keep submitting
// small runs, and audits the data folder (tests/e2e/audit.h) after every kill and at
// the end.
//
// The plugin itself notes each completion with its attempt folder. The promise checked
// is exactly-once *recording*: per step, one completion belongs to the attempt recorded
// succeeded, and any other completion belongs to an attempt recorded lost, i.e. one
// the kill ended after the plugin returned but before the worker had written its
// result (its workers die with the daemon). A step recorded succeeded never runs again.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/e2e/audit.h"
#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

nlohmann::json twenty_steps() {
  // Four chains of five: each step reads its predecessor, so restarts land in the
  // middle of dependencies as well as of attempts.
  nlohmann::json steps = nlohmann::json::object();
  for (int chain = 0; chain < 4; ++chain) {
    for (int link = 0; link < 5; ++link) {
      const int index = chain * 5 + link;
      nlohmann::json step = {{"plugin", "test-ok"},
                             {"params", {{"value", index + 1}, {"sleep_ms", 120 + 40 * (index % 3)}}}};
      if (link > 0) step["inputs"] = {{"in", "s" + std::to_string(index - 1) + ".out"}};
      steps["s" + std::to_string(index)] = step;
    }
  }
  return {{"name", "chaos"}, {"steps", steps}};
}

// One line of $RADFLOW_TEST_COMPLETIONS: "test-ok <value> <run>/<step>/attempt-<n>".
struct Completion {
  int64_t value = 0;
  std::string attempt;
};

std::vector<Completion> read_completions(const std::string& path) {
  std::vector<Completion> completions;
  std::ifstream in(path);
  for (std::string plugin; in >> plugin;) {
    Completion completion;
    in >> completion.value >> completion.attempt;
    completions.push_back(completion);
  }
  return completions;
}

// The recorded status of the attempt a completion names ("" when there is none).
std::string recorded_status(const std::string& database, const std::string& attempt) {
  const size_t first = attempt.find('/');
  const size_t second = attempt.find('/', first + 1);
  const std::string run = attempt.substr(0, first);
  const std::string step = attempt.substr(first + 1, second - first - 1);
  const std::string number = attempt.substr(second + 1 + std::string("attempt-").size());
  return sql_text(database, "SELECT a.status FROM attempts a JOIN steps s ON a.step_id = s.id "
                            "WHERE s.run_id = " + run + " AND s.name = '" + step +
                            "' AND a.number = " + number);
}

// Per value: exactly one completion by a succeeded attempt; the others by lost ones.
void expect_recorded_exactly_once(const std::string& database,
                                  const std::vector<Completion>& completions,
                                  const std::vector<int64_t>& values) {
  for (int64_t value : values) {
    int succeeded = 0;
    std::string seen;
    for (const auto& completion : completions) {
      if (completion.value != value) continue;
      const std::string status = recorded_status(database, completion.attempt);
      seen += " " + completion.attempt + "=" + status;
      succeeded += status == "succeeded";
      EXPECT_TRUE(status == "succeeded" || status == "lost")
          << "value " << value << " completed in " << completion.attempt
          << ", which is recorded '" << status << "'";
    }
    EXPECT_EQ(succeeded, 1) << "value " << value << " completions:" << seen;
  }
}

TEST(CrashRecovery, KillNineAtTenRandomMomentsLosesNothingAndRepeatsNothing) {
  DaemonFixtureDirs dirs;
  const std::string completions = dirs.root() + "/completions.txt";
  // Workers append to it outside their step folders: not confined (--no-confine).
  setenv("RADFLOW_TEST_COMPLETIONS", completions.c_str(), 1);
  std::mt19937 rng(20261128);
  std::uniform_int_distribution<int> delay_ms(30, 450);

  int64_t run_id = 0;
  {
    Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "3", "--no-confine"});
    auto [status, body] = daemon.post("/api/v1/runs", twenty_steps().dump());
    ASSERT_EQ(status, 201) << body.dump();
    run_id = body["id"];
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    daemon.kill_hard();
  }
  for (int kill = 1; kill < 10; ++kill) {
    Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "3", "--no-confine"});
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    daemon.kill_hard();
  }
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "3", "--no-confine"});
  auto run = daemon.wait_for_run(run_id, std::chrono::seconds(120));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  for (const auto& step : run["steps"]) EXPECT_EQ(step["status"], "succeeded") << step["name"];
  daemon.stop();
  unsetenv("RADFLOW_TEST_COMPLETIONS");

  std::vector<int64_t> values;
  for (int64_t value = 1; value <= 20; ++value) values.push_back(value);
  expect_recorded_exactly_once(dirs.database(), read_completions(completions), values);

  EXPECT_EQ(sql_text(dirs.database(), "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(sql_count(dirs.database(), "SELECT COUNT(*) FROM steps WHERE status = 'succeeded'"), 20);
  // The kills landed in the middle of work (lost attempts exist), yet exactly one
  // attempt per step succeeded; lost ones are kept as history.
  EXPECT_GT(sql_count(dirs.database(), "SELECT COUNT(*) FROM attempts WHERE status = 'lost'"), 0);
  EXPECT_EQ(sql_count(dirs.database(), "SELECT COUNT(*) FROM attempts WHERE status = 'succeeded'"), 20);
}

// One small run: a chain of 1-3 test-ok steps with values unique across the test
// (the completions file names them), and now and then an independent test-fail step.
struct SmallRun {
  nlohmann::json workflow;
  std::vector<int64_t> values;
  bool expect_success = true;
};

SmallRun small_run(std::mt19937& rng, std::atomic<int64_t>& next_value) {
  SmallRun run;
  run.workflow = {{"name", "chaos-small"}, {"steps", nlohmann::json::object()}};
  const int length = std::uniform_int_distribution<int>(1, 3)(rng);
  for (int i = 0; i < length; ++i) {
    const int64_t value = next_value++;
    run.values.push_back(value);
    nlohmann::json step = {
        {"plugin", "test-ok"},
        {"cache", false},
        {"params", {{"value", value}, {"sleep_ms", std::uniform_int_distribution<int>(50, 250)(rng)}}}};
    if (i > 0) step["inputs"] = {{"in", "s" + std::to_string(i - 1) + ".out"}};
    run.workflow["steps"]["s" + std::to_string(i)] = step;
  }
  if (std::uniform_int_distribution<int>(0, 5)(rng) == 0) {
    run.workflow["steps"]["bad"] = {{"plugin", "test-fail"}, {"cache", false}};
    run.expect_success = false;
  }
  return run;
}

// Starts the daemon; when it does not come up, the failure quotes its log.
std::unique_ptr<Daemon> restart(const DaemonFixtureDirs& dirs) {
  try {
    return std::make_unique<Daemon>(dirs.data_dir(), dirs.plugin_dir(),
                                    std::vector<std::string>{"--cpus", "3", "--no-confine"});
  } catch (const std::exception& e) {
    std::ifstream log(dirs.data_dir() + "/radflowd.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    ADD_FAILURE() << e.what() << "\n--- radflowd.log (tail) ---\n"
                  << (text.size() > 4000 ? text.substr(text.size() - 4000) : text);
    return nullptr;
  }
}

TEST(CrashRecovery, KillNineWhileClientsSubmitKeepsEveryAcceptedRunAndPassesTheAudit) {
  DaemonFixtureDirs dirs;
  const std::string completions = dirs.root() + "/completions.txt";
  // Workers append to it outside their step folders: not confined (--no-confine).
  setenv("RADFLOW_TEST_COMPLETIONS", completions.c_str(), 1);
  std::mt19937 rng(20261129);
  std::uniform_int_distribution<int> lifetime_ms(250, 1500);
  constexpr int kKills = 8;

  std::mutex mu;
  std::map<int64_t, SmallRun> accepted;  // run id -> what was submitted
  std::set<int64_t> unanswered_values;   // values of POSTs the kill cut off
  std::atomic<int64_t> next_value{1000};
  int unanswered = 0;

  for (int kill = 1; kill <= kKills; ++kill) {
    auto started = restart(dirs);
    ASSERT_TRUE(started) << "restart before kill " << kill;
    Daemon& daemon = *started;
    std::atomic<bool> stop{false};
    std::thread submitter([&, seed = rng()] {
      std::mt19937 local(seed);
      httplib::Client client("127.0.0.1", daemon.port());
      client.set_read_timeout(10);
      while (!stop) {
        SmallRun run = small_run(local, next_value);
        auto res = client.Post("/api/v1/runs", run.workflow.dump(), "application/json");
        std::lock_guard<std::mutex> lock(mu);
        if (!res) {  // the daemon died mid-request: the run may or may not exist
          ++unanswered;
          unanswered_values.insert(run.values.begin(), run.values.end());
          return;
        }
        if (res->status == 201) {
          accepted[nlohmann::json::parse(res->body)["id"].get<int64_t>()] = std::move(run);
        } else {
          ADD_FAILURE() << "POST /api/v1/runs answered " << res->status << ": " << res->body;
        }
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 250)(local)));
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(lifetime_ms(rng)));
    daemon.kill_hard();
    stop = true;
    submitter.join();
    const auto problems = audit_data_dir(dirs.data_dir(), AuditScope::kAnyMoment);
    EXPECT_TRUE(problems.empty()) << "after kill " << kill << ": " << audit_report(problems);
  }

  auto started = restart(dirs);
  ASSERT_TRUE(started) << "the last restart";
  Daemon& daemon = *started;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  int64_t finished = 0;
  for (const auto& [run_id, submitted] : accepted) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(
        deadline - std::chrono::steady_clock::now());
    auto run = daemon.wait_for_run(run_id, std::max(left, std::chrono::seconds(1)));
    ASSERT_TRUE(run.contains("status")) << "accepted run " << run_id << " is gone: " << run.dump();
    const std::string status = run["status"];
    finished += status == "succeeded" || status == "failed" || status == "cancelled";
    EXPECT_EQ(status, submitted.expect_success ? "succeeded" : "failed")
        << "run " << run_id << ": " << run.dump(1);
  }
  // Runs whose POST the kill cut off may exist too; they must end as well.
  auto all = daemon.get("/api/v1/runs?limit=1000");
  for (const auto& run : all["runs"]) {
    const std::string status = run["status"];
    EXPECT_TRUE(status == "succeeded" || status == "failed" || status == "cancelled")
        << "run " << run["id"] << " is still " << status;
  }
  daemon.stop();
  unsetenv("RADFLOW_TEST_COMPLETIONS");

  const auto done = read_completions(completions);
  for (const auto& [run_id, submitted] : accepted) {
    SCOPED_TRACE("run " + std::to_string(run_id));
    expect_recorded_exactly_once(dirs.database(), done, submitted.values);
  }
  // A POST the kill cut off may or may not have stored its run; if it did, the same
  // holds, and if it did not, nothing ran.
  for (int64_t value : unanswered_values) {
    int succeeded = 0;
    for (const auto& completion : done) {
      if (completion.value != value) continue;
      succeeded += recorded_status(dirs.database(), completion.attempt) == "succeeded";
    }
    EXPECT_LE(succeeded, 1) << value;
  }

  const auto problems = audit_data_dir(dirs.data_dir(), AuditScope::kQuiescent);
  EXPECT_TRUE(problems.empty()) << "at the end: " << audit_report(problems);
  const int64_t lost = sql_count(dirs.database(), "SELECT COUNT(*) FROM attempts WHERE status = 'lost'");
  const int64_t recovered =
      sql_count(dirs.database(), "SELECT COUNT(*) FROM attempts WHERE reason = 'recovered'");
  std::printf("chaos: %d kills, %zu runs accepted, %lld finished, %d POSTs cut off by a kill, "
              "%lld attempts lost, %lld recovered, %zu audits\n",
              kKills, accepted.size(), static_cast<long long>(finished), unanswered,
              static_cast<long long>(lost), static_cast<long long>(recovered),
              static_cast<size_t>(kKills + 1));
  EXPECT_GT(accepted.size(), 0u);
}

}  // namespace
}  // namespace radflow::test
