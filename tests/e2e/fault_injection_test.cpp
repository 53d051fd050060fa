// Real faults against a real daemon: a full disk (a small tmpfs under the data folder,
// and RLIMIT_FSIZE), a database locked by another connection for longer than the
// busy timeout, a corrupt or truncated database at start-up, and a worker killed
// while it works. Each test ends with the data-folder audit (tests/e2e/audit.h).
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "common/sha256.h"
#include "tests/e2e/audit.h"
#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// The last `max_bytes` of the daemon's log, for failure messages.
std::string log_tail(const DaemonFixtureDirs& dirs, size_t max_bytes = 3000) {
  const std::string log = read_file(dirs.data_dir() + "/radflowd.log");
  return "\n--- radflowd.log (tail) ---\n" +
         (log.size() > max_bytes ? log.substr(log.size() - max_bytes) : log);
}

bool healthy(Daemon& daemon) {
  auto res = daemon.http().Get("/healthz");
  return res && res->status == 200;
}

// Everything a person reading why a step failed would see: the step's and its
// attempts' messages and its stored log lines.
std::string failure_text(Daemon& daemon, int64_t run_id, const nlohmann::json& step) {
  std::string text = step.value("reason", "") + " " + step.value("message", "");
  for (const auto& attempt : step["attempts"]) {
    text += "\n" + attempt.value("reason", "") + " " + attempt.value("message", "");
  }
  auto res = daemon.http().Get("/api/v1/runs/" + std::to_string(run_id) + "/steps/" +
                               step["name"].get<std::string>() + "/logs?limit=1000");
  if (res && res->status == 200) {
    for (const auto& line : nlohmann::json::parse(res->body)["logs"]) {
      text += "\n" + line.value("message", "");
    }
  }
  return text;
}

void expect_audit_passes(const DaemonFixtureDirs& dirs) {
  const auto problems = audit_data_dir(dirs.data_dir(), AuditScope::kQuiescent);
  EXPECT_TRUE(problems.empty()) << audit_report(problems);
}

// A tmpfs of `size` mounted on `dir` for the scope; mounted() is false where
// mounting is not permitted.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, const std::string& size) : dir_(dir) {
    fs::create_directories(dir);
    const std::string options = "size=" + size + ",mode=0755";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes zeros into `path` until the filesystem is full; returns the bytes written.
int64_t fill_disk(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  std::vector<char> chunk(64 * 1024, 0);
  int64_t total = 0;
  for (size_t size = chunk.size(); size > 0;) {
    const ssize_t written = ::write(fd, chunk.data(), size);
    if (written > 0) {
      total += written;
    } else {
      size /= 2;  // top up the last bytes
    }
  }
  ::fsync(fd);
  ::close(fd);
  return total;
}

// Lowers this process's RLIMIT_FSIZE for the scope, so that a Daemon started
// meanwhile (fork + exec) inherits it; the test process itself writes no file.
class ScopedFileSizeLimit {
 public:
  explicit ScopedFileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &lowered);
  }
  ~ScopedFileSizeLimit() { setrlimit(RLIMIT_FSIZE, &saved_); }

 private:
  rlimit saved_{};
};

// ---- (a) a full disk ----

TEST(FaultInjection, OutputLargerThanTheDiskFailsTheStepNamingTheSpaceAndTheDaemonStaysUp) {
  DaemonFixtureDirs dirs;
  TmpfsMount disk(dirs.data_dir(), "6m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
  {
    Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "2"});
    // About 15 MB of CSV into a 6 MB disk.
    const int64_t big = submit(daemon, {{"name", "too-big"},
                                        {"steps", {{"big", {{"plugin", "numbers"},
                                                            {"cache", false},
                                                            {"params", {{"count", 400000}}}}}}}});
    auto run = daemon.wait_for_run(big, seconds(90));
    ASSERT_TRUE(daemon.running()) << "radflowd died when the disk filled up" << log_tail(dirs);
    EXPECT_TRUE(healthy(daemon));
    ASSERT_EQ(run.value("status", ""), "failed") << run.dump(1) << log_tail(dirs);
    const auto step = Daemon::step_of(run, "big");
    EXPECT_EQ(step["status"], "failed");
    const std::string why = failure_text(daemon, big, step);
    const std::string why_lower = lower(why);
    EXPECT_TRUE(why_lower.find("space") != std::string::npos ||
                why_lower.find("disk") != std::string::npos)
        << "nothing a person reads about the failed step names the full disk:\n" << why;
    std::printf("full disk (output): step reason %s, message \"%s\"\n",
                step.value("reason", "").c_str(), step.value("message", "").c_str());

    // The failed attempt's partial output must not keep the disk full for good.
    const int64_t small = submit(daemon, {{"name", "after"},
                                          {"steps", {{"ok", {{"plugin", "test-ok"},
                                                             {"cache", false}}}}}});
    auto after = daemon.wait_for_run(small, seconds(60));
    EXPECT_EQ(after.value("status", ""), "succeeded")
        << "a small run after the failed one: " << after.dump(1) << "\nfree bytes on the data disk: "
        << fs::space(dirs.data_dir()).available << log_tail(dirs);
    EXPECT_TRUE(daemon.running());
  }
  expect_audit_passes(dirs);
}

TEST(FaultInjection, FullDatabaseDiskAnswersErrorsNotHangsAndRecoversOnceSpaceIsBack) {
  DaemonFixtureDirs dirs;
  TmpfsMount disk(dirs.data_dir(), "16m");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << disk.error();
  const nlohmann::json small = {{"name", "small"},
                                {"steps", {{"ok", {{"plugin", "test-ok"}, {"cache", false}}}}}};
  {
    Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "2"});
    ASSERT_EQ(daemon.wait_for_run(submit(daemon, small), seconds(60))["status"], "succeeded");

    const std::string filler = dirs.data_dir() + "/filler";
    const int64_t filled = fill_disk(filler);
    ASSERT_GT(filled, 0);
    // Submissions while the disk is full: an answer (an error in the API's shape, or
    // 201), never a hang.
    std::vector<int64_t> accepted_while_full;
    int errors = 0;
    for (int i = 0; i < 3; ++i) {
      const auto start = Clock::now();
      auto res = daemon.http().Post("/api/v1/runs", small.dump(), "application/json");
      const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
      ASSERT_TRUE(res) << "POST while the disk is full got no answer after " << took << " ms: "
                       << httplib::to_string(res.error()) << log_tail(dirs);
      if (res->status == 201) {
        accepted_while_full.push_back(nlohmann::json::parse(res->body)["id"]);
      } else {
        ++errors;
        EXPECT_GE(res->status, 500) << res->body;
        auto body = nlohmann::json::parse(res->body, nullptr, false);
        EXPECT_TRUE(body.is_object() && body.contains("errors")) << res->body;
      }
      std::printf("full disk (database): POST answered %d in %lld ms: %s\n", res->status,
                  static_cast<long long>(took), res->body.substr(0, 300).c_str());
      EXPECT_TRUE(healthy(daemon));
    }
    std::this_thread::sleep_for(seconds(2));
    ASSERT_TRUE(daemon.running()) << "radflowd died on a full disk" << log_tail(dirs);

    fs::remove(filler);
    for (int64_t run_id : accepted_while_full) {
      auto run = daemon.wait_for_run(run_id, seconds(60));
      const std::string status = run.value("status", "");
      EXPECT_TRUE(status == "succeeded" || status == "failed")
          << "run " << run_id << " accepted while the disk was full: " << run.dump(1);
      std::printf("full disk (database): run %lld accepted while full ended %s\n",
                  static_cast<long long>(run_id), status.c_str());
    }
    auto after = daemon.wait_for_run(submit(daemon, small), seconds(60));
    EXPECT_EQ(after.value("status", ""), "succeeded")
        << "once space is back: " << after.dump(1) << log_tail(dirs);
    EXPECT_TRUE(daemon.running());
  }
  expect_audit_passes(dirs);
}

TEST(FaultInjection, FileSizeLimitKillsTheWorkerNotTheDaemon) {
  DaemonFixtureDirs dirs;
  std::unique_ptr<Daemon> daemon;
  {
    ScopedFileSizeLimit limit(1024 * 1024);  // inherited by radflowd and its workers
    daemon = std::make_unique<Daemon>(dirs.data_dir(), dirs.plugin_dir(),
                                      std::vector<std::string>{"--cpus", "2"});
  }
  // About 3.8 MB of CSV: past RLIMIT_FSIZE, the worker gets SIGXFSZ.
  const int64_t run_id = submit(*daemon, {{"name", "fsize"},
                                          {"steps", {{"big", {{"plugin", "numbers"},
                                                              {"cache", false},
                                                              {"params", {{"count", 100000}}}}}}}});
  auto run = daemon->wait_for_run(run_id, seconds(60));
  ASSERT_TRUE(daemon->running()) << "radflowd died of RLIMIT_FSIZE" << log_tail(dirs);
  ASSERT_EQ(run.value("status", ""), "failed") << run.dump(1);
  const auto step = Daemon::step_of(run, "big");
  const std::string why = failure_text(*daemon, run_id, step);
  std::printf("RLIMIT_FSIZE: step reason %s, message \"%s\"\n", step.value("reason", "").c_str(),
              step.value("message", "").c_str());
  const std::string why_lower = lower(why);
  EXPECT_TRUE(why_lower.find("file size") != std::string::npos ||
              why_lower.find("sigxfsz") != std::string::npos ||
              why_lower.find("space") != std::string::npos)
      << "the failure does not name the file-size limit:\n" << why;
  // The daemon keeps working.
  const int64_t small = submit(*daemon, {{"name", "after"},
                                         {"steps", {{"ok", {{"plugin", "test-ok"}, {"cache", false}}}}}});
  EXPECT_EQ(daemon->wait_for_run(small, seconds(60)).value("status", ""), "succeeded");
  EXPECT_TRUE(healthy(*daemon));
  daemon.reset();
  expect_audit_passes(dirs);
}

// ---- (b) SQLITE_BUSY: another connection holds the write lock past the busy timeout ----

TEST(FaultInjection, DatabaseLockedPastTheBusyTimeoutGivesErrorsThenTheRunFinishes) {
  DaemonFixtureDirs dirs;
  {
    Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "2"});
    nlohmann::json workflow = {{"name", "locked"}, {"steps", nlohmann::json::object()}};
    for (int i = 0; i < 3; ++i) {
      nlohmann::json step = {{"plugin", "test-ok"},
                             {"cache", false},
                             {"params", {{"value", i + 1}, {"sleep_ms", 1500}}}};
      if (i > 0) step["inputs"] = {{"in", "s" + std::to_string(i - 1) + ".out"}};
      workflow["steps"]["s" + std::to_string(i)] = step;
    }
    const int64_t run_id = submit(daemon, workflow);
    for (int i = 0; i < 200; ++i) {
      auto run = daemon.get("/api/v1/runs/" + std::to_string(run_id));
      if (Daemon::step_of(run, "s0")["status"] == "running") break;
      std::this_thread::sleep_for(milliseconds(25));
    }

    sqlite3* locker = nullptr;
    ASSERT_EQ(sqlite3_open(dirs.database().c_str(), &locker), SQLITE_OK);
    sqlite3_busy_timeout(locker, 5000);
    ASSERT_EQ(sqlite3_exec(locker, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(locker);
    const auto locked_at = Clock::now();
    constexpr auto kHold = seconds(14);  // past the daemon's 10 s busy timeout

    std::atomic<bool> probing{true};
    std::atomic<int> health_failures{0};
    std::atomic<int64_t> health_max_ms{0};
    std::thread prober([&] {
      httplib::Client client("127.0.0.1", daemon.port());
      client.set_read_timeout(5);
      while (probing) {
        const auto start = Clock::now();
        auto res = client.Get("/healthz");
        const int64_t took = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
        if (!res || res->status != 200) ++health_failures;
        health_max_ms = std::max<int64_t>(health_max_ms, took);
        std::this_thread::sleep_for(milliseconds(200));
      }
    });

    // A write during the lock: an error in the API's shape, not a hang.
    httplib::Client writer("127.0.0.1", daemon.port());
    writer.set_read_timeout(40);
    const auto post_start = Clock::now();
    auto posted = writer.Post("/api/v1/runs",
                              nlohmann::json({{"name", "during-lock"},
                                              {"steps", {{"ok", {{"plugin", "test-ok"}}}}}})
                                  .dump(),
                              "application/json");
    const int64_t post_ms =
        std::chrono::duration_cast<milliseconds>(Clock::now() - post_start).count();
    const bool answered_under_lock = Clock::now() < locked_at + kHold;
    // A read during the lock (WAL readers do not wait for the writer).
    const auto read_start = Clock::now();
    auto read = daemon.http().Get("/api/v1/runs/" + std::to_string(run_id));
    const int64_t read_ms =
        std::chrono::duration_cast<milliseconds>(Clock::now() - read_start).count();

    std::this_thread::sleep_until(locked_at + kHold);
    const bool still_up_under_lock = daemon.running();
    sqlite3_exec(locker, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(locker);
    probing = false;
    prober.join();

    ASSERT_TRUE(still_up_under_lock) << "radflowd died while the database was locked" << log_tail(dirs);
    ASSERT_TRUE(posted) << "POST during the lock: " << httplib::to_string(posted.error());
    std::printf("SQLITE_BUSY: POST during the lock answered %d after %lld ms (%s); healthz max %lld ms, "
                "%d failures\n",
                posted->status, static_cast<long long>(post_ms), posted->body.substr(0, 200).c_str(),
                static_cast<long long>(health_max_ms.load()), health_failures.load());
    EXPECT_TRUE(answered_under_lock) << "POST waited " << post_ms << " ms: past the whole lock";
    EXPECT_GE(posted->status, 500) << posted->body;
    EXPECT_LT(posted->status, 600) << posted->body;
    auto error = nlohmann::json::parse(posted->body, nullptr, false);
    EXPECT_TRUE(error.is_object() && error.contains("errors")) << posted->body;
    EXPECT_TRUE(read) << "GET /api/v1/runs/" << run_id << " during the lock: "
                      << httplib::to_string(read.error()) << " after " << read_ms << " ms"
                      << log_tail(dirs);
    if (read) EXPECT_EQ(read->status, 200) << read->body;
    EXPECT_LT(read_ms, 2000) << "a read waited for the writer's lock";
    EXPECT_EQ(health_failures.load(), 0);
    EXPECT_LT(health_max_ms.load(), 2000);

    auto run = daemon.wait_for_run(run_id, seconds(90));
    EXPECT_EQ(run.value("status", ""), "succeeded") << run.dump(1) << log_tail(dirs, 6000);
    EXPECT_TRUE(daemon.running());
  }
  expect_audit_passes(dirs);
}

// ---- (c) a corrupt or truncated database at start-up ----

struct DaemonExit {
  bool exited = false;  // false: still running at the deadline (then killed)
  int exit_code = -1;
  std::string output;   // stdout and stderr
};

// Starts radflowd on the data folder and waits (through timeout(1)) for it to exit
// by itself; a daemon still running at the deadline is killed and reads as not exited.
DaemonExit start_expecting_exit(const DaemonFixtureDirs& dirs, seconds timeout) {
  const std::string log_path = dirs.root() + "/start.log";
  const std::string command = "timeout -s KILL " + std::to_string(timeout.count()) + " " +
                              RADFLOWD_BIN + " --data-dir " + dirs.data_dir() + " --plugin-dir " +
                              dirs.plugin_dir() + " --listen 127.0.0.1:0 --gpus none > " +
                              log_path + " 2>&1";
  const int status = std::system(command.c_str());
  DaemonExit result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.exited = result.exit_code != 128 + SIGKILL && result.exit_code != 124;
  result.output = read_file(log_path) + read_file(dirs.data_dir() + "/radflowd.log");
  return result;
}

// A data folder with a few finished runs, its WAL folded into radflow.db.
void populate(const DaemonFixtureDirs& dirs) {
  {
    Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "4"});
    for (int r = 0; r < 3; ++r) {
      nlohmann::json workflow = {{"name", "populate"}, {"steps", nlohmann::json::object()}};
      for (int i = 0; i < 6; ++i) {
        workflow["steps"]["s" + std::to_string(i)] = {
            {"plugin", "test-ok"}, {"params", {{"value", r * 10 + i}}}};
      }
      ASSERT_EQ(daemon.wait_for_run(submit(daemon, workflow), seconds(60))["status"], "succeeded");
    }
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dirs.database().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  ASSERT_EQ(sql_text(dirs.database(), "PRAGMA integrity_check"), "ok");
}

void expect_refused_and_untouched(const DaemonFixtureDirs& dirs, const std::string& damage) {
  const std::string before = read_file(dirs.database());
  const DaemonExit result = start_expecting_exit(dirs, seconds(30));
  EXPECT_TRUE(result.exited) << "radflowd started on a " << damage << " database:\n" << result.output;
  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find(dirs.database()), std::string::npos)
      << "the message does not name " << dirs.database() << ":\n" << result.output;
  const std::string after = read_file(dirs.database());
  EXPECT_EQ(after.size(), before.size()) << "radflow.db changed size";
  // Byte for byte as it was: neither repaired in place nor replaced by a fresh one.
  EXPECT_TRUE(after == before) << "radflowd wrote into the " << damage << " radflow.db";
  std::printf("%s database: exit %d, output: %s\n", damage.c_str(), result.exit_code,
              result.output.substr(0, 600).c_str());
}

TEST(FaultInjection, CorruptDatabaseIsRefusedAtStartAndLeftAsItWas) {
  DaemonFixtureDirs dirs;
  populate(dirs);
  if (HasFatalFailure()) return;
  const int64_t page = sql_count(dirs.database(), "PRAGMA page_size");
  const int64_t pages = static_cast<int64_t>(fs::file_size(dirs.database())) / page;
  ASSERT_GE(pages, 6) << "too small a database to damage its middle";
  {
    std::fstream file(dirs.database(), std::ios::in | std::ios::out | std::ios::binary);
    std::mt19937 rng(1234);
    std::string garbage(static_cast<size_t>(page), '\0');
    for (int64_t p = pages / 3; p < 2 * pages / 3; ++p) {
      for (char& c : garbage) c = static_cast<char>(rng());
      file.seekp(p * page);
      file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
  }
  expect_refused_and_untouched(dirs, "corrupt");
}

TEST(FaultInjection, TruncatedDatabaseIsRefusedAtStartAndLeftAsItWas) {
  DaemonFixtureDirs dirs;
  populate(dirs);
  if (HasFatalFailure()) return;
  const auto size = fs::file_size(dirs.database());
  fs::resize_file(dirs.database(), size / 2 + 123);
  expect_refused_and_untouched(dirs, "truncated");
}

// ---- (d) a worker killed with SIGKILL while it works ----

TEST(FaultInjection, WorkerKilledMidAttemptFailsAsKilledAndTheRetrySucceeds) {
  DaemonFixtureDirs dirs;
  {
    Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "2"});
    const int64_t run_id = submit(
        daemon, {{"name", "killed-worker"},
                 {"steps", {{"work", {{"plugin", "test-ok"},
                                      {"cache", false},
                                      {"retries", 1},
                                      {"params", {{"sleep_ms", 3000}}}}}}}});
    int64_t pid = 0;
    for (int i = 0; i < 400 && pid == 0; ++i) {
      auto step = Daemon::step_of(daemon.get("/api/v1/runs/" + std::to_string(run_id)), "work");
      if (step["status"] == "running" && !step["attempts"].empty() &&
          !step["attempts"][0]["pids"].empty()) {
        pid = step["attempts"][0]["pids"][0];
      }
      std::this_thread::sleep_for(milliseconds(25));
    }
    ASSERT_GT(pid, 0) << "the step never showed a running worker";
    std::this_thread::sleep_for(milliseconds(500));  // inside the plugin's sleep
    ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0) << std::strerror(errno);

    auto run = daemon.wait_for_run(run_id, seconds(60));
    ASSERT_EQ(run.value("status", ""), "succeeded") << run.dump(1) << log_tail(dirs);
    const auto step = Daemon::step_of(run, "work");
    ASSERT_EQ(step["attempts"].size(), 2u) << step.dump(1);
    EXPECT_EQ(step["attempts"][0]["status"], "failed");
    EXPECT_EQ(step["attempts"][0]["reason"], "killed");
    EXPECT_EQ(step["attempts"][0]["signal"], SIGKILL);
    EXPECT_EQ(step["attempts"][1]["status"], "succeeded");
    EXPECT_EQ(::kill(static_cast<pid_t>(pid), 0), -1) << "the killed worker is still there";
    EXPECT_TRUE(daemon.running());
  }
  expect_audit_passes(dirs);
}

}  // namespace
}  // namespace radflow::test
