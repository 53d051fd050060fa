// Runs that go wrong in ways no plugin author intends, and daemons that stop at
// bad moments: every case ends with the daemon up, the run finished with the
// right reason, and the database telling the same story as the API.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;

// Polls until the named step of the run is running (its attempt started).
void wait_until_running(Daemon& daemon, int64_t run_id, const std::string& step) {
  for (int i = 0; i < 400; ++i) {
    auto run = daemon.get("/api/v1/runs/" + std::to_string(run_id));
    if (Daemon::step_of(run, step)["status"] == "running") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL() << "step " << step << " never ran";
}

void sql_exec(const std::string& database, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(database.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

void expect_alive_and_working(Daemon& daemon) {
  ASSERT_TRUE(daemon.running());
  EXPECT_EQ(daemon.get("/healthz")["status"], "ok");
  const int64_t next = submit(daemon, {{"name", "after"}, {"steps", {{"a", {{"plugin", "test-ok"}}}}}});
  EXPECT_EQ(daemon.wait_for_run(next, std::chrono::seconds(30))["status"], "succeeded");
}

class Resilience : public ::testing::Test {
 protected:
  DaemonFixtureDirs dirs_;
};

TEST_F(Resilience, BoundOptionalOutputThatWasNotProducedFailsTheReaderWithInputMissing) {
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
  const int64_t run_id = submit(
      daemon, {{"name", "optional"},
               {"steps",
                {{"up", {{"plugin", "test-ok"}}},  // "extra" is false: no output extra
                 {"down", {{"plugin", "test-ok"}, {"inputs", {{"in", "up.extra"}}}}}}}});
  auto run = daemon.wait_for_run(run_id, std::chrono::seconds(30));
  EXPECT_EQ(run["status"], "failed");
  auto down = Daemon::step_of(run, "down");
  EXPECT_EQ(down["status"], "failed");
  EXPECT_EQ(down["reason"], "input_missing");
  EXPECT_NE(down["message"].get<std::string>().find("extra"), std::string::npos);
  EXPECT_EQ(Daemon::step_of(run, "up")["status"], "succeeded");
  expect_alive_and_working(daemon);

  // After a restart the failed run stays failed and does not take the daemon down.
  daemon.stop();
  Daemon again(dirs_.data_dir(), dirs_.plugin_dir());
  EXPECT_EQ(again.get("/api/v1/runs/" + std::to_string(run_id))["status"], "failed");
  expect_alive_and_working(again);
}

TEST_F(Resilience, MalformedIngestPlanInAnAttemptFolderIsRedoneNotFatal) {
  const int64_t run_id = [&] {
    Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
    const int64_t id = submit(daemon, {{"name", "ingest"},
                                       {"steps", {{"slow", {{"plugin", "test-ok"},
                                                            {"params", {{"sleep_ms", 30000}}}}}}}});
    wait_until_running(daemon, id, "slow");
    daemon.kill_hard();
    return id;
  }();
  // What a crash between the workers' end and the bookkeeping leaves, damaged:
  // a result saying the attempt succeeded and ingest plans of every wrong shape.
  const fs::path attempt =
      fs::path(dirs_.data_dir()) / "runs" / std::to_string(run_id) / "slow" / "attempt-1";
  ASSERT_TRUE(fs::is_directory(attempt));
  std::ofstream(attempt / "rank-0.result.json")
      << R"({"end": {"status": "succeeded", "reason": "ok", "message": ""},
             "outputs": {"out": ")" + (attempt / "outputs" / "out.txt").string() + R"("}})";
  std::ofstream(attempt / "outputs" / "out.txt") << "42\n";
  for (const char* plan : {R"({"out": 5})", R"([1, 2])", R"({"out": {"path": 7, "digest": []}})",
                           R"({"out": {"path": "/etc/passwd", "digest": "00"}})", "{garbage"}) {
    SCOPED_TRACE(plan);
    std::ofstream(attempt / "ingest.json") << plan;
    Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
    ASSERT_TRUE(daemon.running());
    EXPECT_EQ(daemon.get("/healthz")["status"], "ok");
    daemon.kill_hard();
  }
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
  auto run = daemon.wait_for_run(run_id, std::chrono::seconds(60));
  // Taken in from the folder (recovered) or run again: either way one success.
  EXPECT_EQ(run["status"], "succeeded") << run.dump(2);
  EXPECT_EQ(sql_count(dirs_.database(),
                      "SELECT COUNT(*) FROM attempts WHERE status = 'succeeded'"), 1);
  expect_alive_and_working(daemon);
}

TEST_F(Resilience, RunWhoseRowsCannotBeResumedFailsAloneWithTheReason) {
  const int64_t run_id = [&] {
    Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
    const int64_t id = submit(daemon, {{"name", "poison"},
                                       {"steps", {{"slow", {{"plugin", "test-ok"},
                                                            {"params", {{"sleep_ms", 30000}}}}},
                                                  {"later", {{"plugin", "test-ok"},
                                                             {"inputs", {{"in", "slow.out"}}}}}}}});
    wait_until_running(daemon, id, "slow");
    daemon.kill_hard();
    return id;
  }();
  sql_exec(dirs_.database(), "UPDATE steps SET status = 'bogus' WHERE name = 'later'");
  for (int start = 0; start < 2; ++start) {  // and again: it must not come back
    Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
    auto run = daemon.get("/api/v1/runs/" + std::to_string(run_id));
    EXPECT_EQ(run["status"], "failed");
    EXPECT_NE(run["message"].get<std::string>().find("bogus"), std::string::npos) << run["message"];
    expect_alive_and_working(daemon);
  }
}

TEST_F(Resilience, CancelSurvivesADaemonCrash) {
  const int64_t run_id = [&] {
    Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir(), {"--grace-s", "30"});
    const int64_t id = submit(daemon, {{"name", "cancel"},
                                       {"steps", {{"wait", {{"plugin", "test-hang"}}}}}});
    wait_until_running(daemon, id, "wait");
    auto [status, body] = daemon.post("/api/v1/runs/" + std::to_string(id) + "/cancel", "");
    EXPECT_EQ(status, 202);
    // test-hang ignores SIGTERM and the grace period is long: the cancel is still
    // being carried out when the daemon dies.
    daemon.kill_hard();
    return id;
  }();
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
  auto run = daemon.wait_for_run(run_id, std::chrono::seconds(30));
  EXPECT_EQ(run["status"], "cancelled") << run.dump(2);
  // The hanging step was not started again after the restart.
  EXPECT_EQ(Daemon::step_of(run, "wait")["attempts"].size(), 1u);
  expect_alive_and_working(daemon);
}

TEST_F(Resilience, SigtermGivesWorkersTheirGracePeriodAndTheStepResumes) {
  int64_t run_id = 0;
  {
    Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir(), {"--grace-s", "5"});
    run_id = submit(daemon, {{"name", "graceful"},
                             {"steps", {{"c", {{"plugin", "test-cancellable"}}}}}});
    wait_until_running(daemon, run_id, "c");
    daemon.stop();  // SIGTERM
  }
  // The plugin saw the stop request (SIGTERM, not SIGKILL) and said so.
  EXPECT_EQ(sql_count(dirs_.database(),
                      "SELECT COUNT(*) FROM logs WHERE message LIKE '%cancelled; stopping%'"),
            1);
  EXPECT_EQ(sql_text(dirs_.database(), "SELECT reason FROM attempts WHERE number = 1"),
            "daemon_shutdown");
  EXPECT_EQ(sql_text(dirs_.database(), "SELECT status FROM attempts WHERE number = 1"), "lost");
  EXPECT_EQ(sql_text(dirs_.database(), "SELECT status FROM steps WHERE name = 'c'"), "queued");

  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
  wait_until_running(daemon, run_id, "c");  // resumed: attempt 2
  daemon.post("/api/v1/runs/" + std::to_string(run_id) + "/cancel", "");
  auto run = daemon.wait_for_run(run_id, std::chrono::seconds(30));
  EXPECT_EQ(run["status"], "cancelled");
  EXPECT_EQ(Daemon::step_of(run, "c")["attempts"].size(), 2u);
}

TEST_F(Resilience, DeleteRefusesActiveRunsAndGcFreesWhatNothingReferences) {
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
  const int64_t slow = submit(daemon, {{"name", "slow"},
                                       {"steps", {{"a", {{"plugin", "test-ok"},
                                                         {"params", {{"sleep_ms", 20000},
                                                                     {"value", 7}}}}}}}});
  auto active = daemon.http().Delete(("/api/v1/runs/" + std::to_string(slow)).c_str());
  ASSERT_TRUE(active);
  EXPECT_EQ(active->status, 409);
  EXPECT_NE(active->body.find("run_active"), std::string::npos);
  daemon.post("/api/v1/runs/" + std::to_string(slow) + "/cancel", "");
  daemon.wait_for_run(slow, std::chrono::seconds(30));

  const int64_t done = submit(daemon, {{"name", "done"},
                                       {"steps", {{"a", {{"plugin", "test-ok"},
                                                         {"params", {{"value", 99}}}}}}}});
  ASSERT_EQ(daemon.wait_for_run(done, std::chrono::seconds(30))["status"], "succeeded");
  const std::string digest = sql_text(dirs_.database(), "SELECT digest FROM artifacts");
  ASSERT_EQ(digest.size(), 64u);
  for (int64_t id : {slow, done}) {
    auto deleted = daemon.http().Delete(("/api/v1/runs/" + std::to_string(id)).c_str());
    ASSERT_TRUE(deleted);
    EXPECT_EQ(deleted->status, 200) << deleted->body;
    EXPECT_FALSE(fs::exists(fs::path(dirs_.data_dir()) / "runs" / std::to_string(id)));
    auto gone = daemon.http().Get(("/api/v1/runs/" + std::to_string(id)).c_str());
    EXPECT_EQ(gone->status, 404);
  }
  EXPECT_EQ(sql_count(dirs_.database(), "SELECT COUNT(*) FROM steps"), 0);
  EXPECT_EQ(sql_count(dirs_.database(), "SELECT COUNT(*) FROM logs"), 0);

  // Young artifacts are kept by default; a dry run removes nothing.
  auto [dry_status, dry] = daemon.post("/api/v1/gc?dry_run=1&min_age_s=0", "");
  EXPECT_EQ(dry_status, 200);
  EXPECT_EQ(dry["artifacts"], 1) << dry.dump();
  EXPECT_GT(dry["bytes"].get<int64_t>(), 0);
  auto [kept_status, kept] = daemon.post("/api/v1/gc", "");
  EXPECT_EQ(kept["artifacts"], 0) << kept.dump();
  EXPECT_EQ(kept["kept_young"], 1) << kept.dump();
  auto [gc_status, gc] = daemon.post("/api/v1/gc?min_age_s=0", "");
  EXPECT_EQ(gc_status, 200);
  EXPECT_EQ(gc["artifacts"], 1) << gc.dump();
  size_t stored_files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(dirs_.data_dir()) / "artifacts")) {
    stored_files += entry.is_regular_file() && entry.path().string().find(digest) != std::string::npos;
  }
  EXPECT_EQ(stored_files, 0u);
  expect_alive_and_working(daemon);
}

TEST_F(Resilience, AChangedArtifactIsNeverServedFromTheCache) {
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
  const nlohmann::json workflow = {{"name", "cached"},
                                   {"steps", {{"a", {{"plugin", "test-ok"},
                                                     {"params", {{"value", 5}}}}}}}};
  const int64_t first = submit(daemon, workflow);
  ASSERT_EQ(daemon.wait_for_run(first, std::chrono::seconds(30))["status"], "succeeded");
  // Someone (a plugin that read it as an input, say) changes the stored bytes.
  const std::string digest = sql_text(dirs_.database(), "SELECT digest FROM artifacts");
  fs::path stored;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(dirs_.data_dir()) / "artifacts")) {
    if (entry.is_regular_file() && entry.path().string().find(digest) != std::string::npos) {
      stored = entry.path();
    }
  }
  ASSERT_FALSE(stored.empty());
  fs::permissions(stored, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(stored) << "tampered\n";

  const int64_t second = submit(daemon, workflow);
  auto run = daemon.wait_for_run(second, std::chrono::seconds(30));
  EXPECT_EQ(run["status"], "succeeded");
  EXPECT_EQ(Daemon::step_of(run, "a")["status"], "succeeded") << "served from a changed cache";
  EXPECT_EQ(Daemon::step_of(run, "a")["attempts"].size(), 1u);
}

TEST_F(Resilience, AttemptLogsAreCappedWithAMarker) {
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir(), {"--max-log-mib", "0.1"});
  const int64_t run_id = submit(daemon, {{"name", "chatty"},
                                         {"steps", {{"m", {{"plugin", "test-misbehave"},
                                                           {"params", {{"mode", "long_line"}}}}}}}});
  daemon.wait_for_run(run_id, std::chrono::seconds(60));
  auto logs = daemon.get("/api/v1/runs/" + std::to_string(run_id) + "/steps/m/logs?limit=100000");
  size_t bytes = 0;
  bool marker = false, summary = false;
  for (const auto& line : logs["logs"]) {
    const std::string message = line["message"];
    bytes += message.size();
    marker |= message.find("log limit of") != std::string::npos;
    summary |= message.find("were dropped after the first") != std::string::npos;
  }
  EXPECT_TRUE(marker);
  EXPECT_TRUE(summary);
  EXPECT_LT(bytes, 400u * 1024) << "the cap (100 KiB) plus one line and radflow's own lines";
  expect_alive_and_working(daemon);
}

TEST_F(Resilience, SigtermDuringStartUpIsNotLost) {
  // The first start describes every plugin (a worker process each): seconds in
  // which the server is not yet listening. A stop asked for then must still stop.
  const std::string data_dir = dirs_.data_dir();
  fs::create_directories(data_dir);
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<std::string> args = {RADFLOWD_BIN, "--data-dir", data_dir, "--plugin-dir",
                                     dirs_.plugin_dir(), "--listen", "127.0.0.1:0", "--gpus",
                                     "none", "--log-level", "warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  bool ended = false;
  for (int i = 0; i < 400 && !ended; ++i) {  // 20 s
    ended = waitpid(pid, &status, WNOHANG) == pid;
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!ended) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  EXPECT_TRUE(ended) << "radflowd kept running after a SIGTERM during start-up";
  // Stopped cleanly, or by the default action before it set up its handling.
  EXPECT_TRUE((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
              (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
}

}  // namespace
}  // namespace radflow::test
