// Plugins that misbehave on purpose (test-misbehave) against a real daemon: bytes
// that are not UTF-8, lines and messages megabytes long, a grandchild that leaves its
// process group, a look at what a worker inherits. The daemon must keep serving valid
// UTF-8 JSON, keep each failure's reason, and leave nothing running.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// RFC 3629, written out here so that the test does not trust the code it checks.
bool valid_utf8(const std::string& text) {
  size_t i = 0;
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  while (i < text.size()) {
    const unsigned char lead = byte(i);
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (lead < 0x80) need = 1;
    else if (lead >= 0xC2 && lead <= 0xDF) need = 2;
    else if (lead >= 0xE0 && lead <= 0xEF) need = 3, lo = lead == 0xE0 ? 0xA0 : 0x80, hi = lead == 0xED ? 0x9F : 0xBF;
    else if (lead >= 0xF0 && lead <= 0xF4) need = 4, lo = lead == 0xF0 ? 0x90 : 0x80, hi = lead == 0xF4 ? 0x8F : 0xBF;
    else return false;
    if (i + need > text.size()) return false;
    for (size_t k = 1; k < need; ++k) {
      const unsigned char b = byte(i + k);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += need;
  }
  return true;
}

std::vector<std::string> lines_of(const std::string& body) {
  std::vector<std::string> lines;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Streams a GET into a string on a thread of its own. A followed log ends by itself
// once its step has finished (kUntilTheServerEnds); the event stream never does, and
// is read again after each quiet read timeout until stop().
class Stream {
 public:
  enum Mode { kUntilTheServerEnds, kUntilStopped };
  Stream(int port, std::string path, Mode mode) : client_("127.0.0.1", port) {
    client_.set_read_timeout(mode == kUntilTheServerEnds ? 60 : 1);
    thread_ = std::thread([this, path, mode] {
      do {
        client_.Get(path.c_str(), [this, mode](const char* data, size_t size) {
          std::lock_guard<std::mutex> lock(mutex_);
          body_.append(data, size);
          return mode == kUntilTheServerEnds || !stopping_.load();
        });
      } while (mode == kUntilStopped && !stopping_);
    });
  }
  ~Stream() { body(); }
  // Stops reading (at once for kUntilStopped; a followed log is read to its end).
  std::string body() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    return body_;
  }

 private:
  httplib::Client client_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::string body_;
};

// The messages of a step's logs, read page by page; every body must be valid UTF-8.
std::vector<std::string> step_logs(Daemon& daemon, int64_t run, const std::string& step) {
  auto res = daemon.http().Get(
      ("/api/v1/runs/" + std::to_string(run) + "/steps/" + step + "/logs?limit=100000").c_str());
  EXPECT_TRUE(res && res->status == 200);
  if (!res) return {};
  EXPECT_TRUE(valid_utf8(res->body));
  std::vector<std::string> messages;
  const json page = json::parse(res->body);
  for (const auto& line : page["logs"]) messages.push_back(line["message"].get<std::string>());
  return messages;
}

std::string find_prefixed(const std::vector<std::string>& messages, const std::string& prefix) {
  for (const auto& message : messages) {
    if (message.rfind(prefix, 0) == 0) return message.substr(prefix.size());
  }
  return "";
}

json misbehaving(const std::string& mode) {
  return {{"plugin", "test-misbehave"}, {"params", {{"mode", mode}}}};
}

TEST(Hygiene, TextFromPluginsReachesClientsAsValidUtf8AndFailuresKeepTheirReason) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  Stream events(daemon.port(), "/api/v1/events", Stream::kUntilStopped);
  json workflow = {{"name", "text"},
                   {"steps",
                    {{"utf8", misbehaving("invalid_utf8")},
                     {"long", misbehaving("long_line")},
                     {"huge", misbehaving("huge_failure")}}}};
  auto [status, created] = daemon.post("/api/v1/runs", workflow.dump());
  ASSERT_EQ(status, 201) << created.dump();
  const int64_t id = created["id"];
  const std::string steps = "/api/v1/runs/" + std::to_string(id) + "/steps/";
  Stream follow_utf8(daemon.port(), steps + "utf8/logs?follow=1", Stream::kUntilTheServerEnds);
  Stream follow_long(daemon.port(), steps + "long/logs?follow=1", Stream::kUntilTheServerEnds);
  auto run = daemon.wait_for_run(id, std::chrono::seconds(120));
  ASSERT_EQ(run["status"], "failed") << run.dump(2).substr(0, 2000);

  EXPECT_TRUE(daemon.running());
  EXPECT_EQ(daemon.get("/healthz")["status"], "ok");

  auto utf8 = Daemon::step_of(run, "utf8");
  EXPECT_EQ(utf8["reason"], "plugin_failed");
  EXPECT_EQ(utf8["message"], "failed with bad bytes \xEF\xBF\xBD\xEF\xBF\xBD");
  auto huge = Daemon::step_of(run, "huge");
  EXPECT_EQ(huge["status"], "failed");
  EXPECT_EQ(huge["reason"], "plugin_failed");
  const std::string huge_message = huge["message"];
  EXPECT_EQ(huge_message.substr(0, 18), "huge failure: cccc");
  EXPECT_LE(huge_message.size(), 64u * 1024);
  EXPECT_EQ(Daemon::step_of(run, "long")["status"], "succeeded");

  for (Stream* follow : {&follow_utf8, &follow_long}) {
    const std::string body = follow->body();
    EXPECT_TRUE(valid_utf8(body));
    for (const auto& line : lines_of(body)) {
      EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << line.substr(0, 200);
    }
  }
  const auto utf8_logs = step_logs(daemon, id, "utf8");
  EXPECT_NE(std::find(utf8_logs.begin(), utf8_logs.end(), "bad bytes \xEF\xBF\xBD\xEF\xBF\xBD here"),
            utf8_logs.end());
  int long_stdout = 0;
  for (const auto& message : step_logs(daemon, id, "long")) {
    if (message.rfind("aaaa", 0) != 0) continue;
    ++long_stdout;
    EXPECT_NE(message.find("[line truncated: 204800 bytes]"), std::string::npos);
  }
  EXPECT_EQ(long_stdout, 1);

  const std::string stream = events.body();
  EXPECT_TRUE(valid_utf8(stream));
  int data_lines = 0;
  for (const auto& line : lines_of(stream)) {
    if (line.rfind("data: ", 0) != 0) continue;
    ++data_lines;
    EXPECT_FALSE(json::parse(line.substr(6), nullptr, false).is_discarded()) << line.substr(0, 200);
  }
  EXPECT_GT(data_lines, 3);
}

// Waits up to 5 s for `pid` to be gone; kills it if it is not, so no test leaks it.
bool gone_soon(pid_t pid) {
  for (int i = 0; i < 250; ++i) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  return false;
}

TEST(Hygiene, WhatAWorkerThatDiedOfASignalLeftRunningIsStopped) {
  // The worker cannot stop its plugin's setsid() grandchild when it is SIGKILLed
  // itself; the orphan is re-parented to radflowd (a child subreaper), which kills it.
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  json workflow = {{"name", "orphan"}, {"steps", {{"die", misbehaving("setsid_child_then_die")}}}};
  workflow["steps"]["die"]["retries"] = 0;
  auto [status, created] = daemon.post("/api/v1/runs", workflow.dump());
  ASSERT_EQ(status, 201) << created.dump();
  const int64_t id = created["id"];
  auto run = daemon.wait_for_run(id, std::chrono::seconds(60));
  ASSERT_EQ(run["status"], "failed") << run.dump(2);

  std::ifstream pid_file(fs::path(dirs.data_dir()) / "runs" / std::to_string(id) / "die" /
                         "attempt-1" / "grandchild.pid");
  pid_t grandchild = 0;
  ASSERT_TRUE(pid_file >> grandchild) << "the plugin did not get to start its grandchild";
  EXPECT_TRUE(gone_soon(grandchild)) << "the setsid grandchild " << grandchild
                                     << " outlived the worker that died";
  EXPECT_EQ(daemon.get("/healthz")["status"], "ok");
}

TEST(Hygiene, WorkersGetACleanProcessAndLeaveNothingRunning) {
  // The daemon inherits this environment: a secret that must not reach plugins, and
  // a RADFLOW_ variable that must.
  ::setenv("AWS_SECRET_ACCESS_KEY", "must-not-leak", 1);
  ::setenv("RADFLOW_HYGIENE_CANARY", "kept", 1);
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  json workflow = {{"name", "process"},
                   {"steps", {{"detach", misbehaving("setsid_child")}, {"env", misbehaving("report_env")}}}};
  auto [status, created] = daemon.post("/api/v1/runs", workflow.dump());
  ASSERT_EQ(status, 201) << created.dump();
  const int64_t id = created["id"];
  auto run = daemon.wait_for_run(id, std::chrono::seconds(60));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(2);

  const std::string pid_text = find_prefixed(step_logs(daemon, id, "detach"), "grandchild pid ");
  ASSERT_FALSE(pid_text.empty());
  const pid_t grandchild = std::stoi(pid_text);
  EXPECT_TRUE(gone_soon(grandchild)) << "the setsid grandchild " << grandchild
                                     << " outlived its attempt";

  const std::string report_text = find_prefixed(step_logs(daemon, id, "env"), "report_env ");
  ASSERT_FALSE(report_text.empty());
  const json report = json::parse(report_text);
  const fs::path attempt_dir =
      fs::path(dirs.data_dir()) / "runs" / std::to_string(id) / "env" / "attempt-1";
  EXPECT_EQ(fs::canonical(report["cwd"].get<std::string>()), fs::canonical(attempt_dir));
  EXPECT_EQ(report["umask"].get<int>(), 077);
  for (const auto& fd : report["fds"]) EXPECT_LE(fd["fd"].get<int>(), 3) << fd.dump();
  EXPECT_FALSE(report["env"].contains("AWS_SECRET_ACCESS_KEY"));
  EXPECT_EQ(report["env"].value("RADFLOW_HYGIENE_CANARY", ""), "kept");
  EXPECT_TRUE(report["env"].contains("PATH"));
  EXPECT_EQ(daemon.get("/healthz")["status"], "ok");
}

}  // namespace
}  // namespace radflow::test
