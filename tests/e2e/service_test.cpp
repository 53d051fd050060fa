// radflow as a lab's service: radflowd --config gives what the same flags give and
// refuses a bad file naming the key; GET /metrics parses as Prometheus text and
// its counters move as a workflow runs.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "tests/e2e/daemon_fixture.h"
#include "tests/e2e/prometheus_text.h"

namespace radflow::test {
namespace {

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr
};

Output shell(const std::string& command) {
  Output result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.text.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(DaemonConfigFile, SameBehaviourAsTheFlags) {
  DaemonFixtureDirs dirs;
  const std::string roots = dirs.root() + "/roots";
  std::filesystem::create_directories(roots);
  const std::string config = dirs.root() + "/radflowd.json";
  write_file(config, R"({
    // the limits and roots this test compares with flags
    "max_ranks": 2,
    "data_roots": [")" + roots + R"("],
    "max_body_mib": 1,
    "log_level": "debug"
  })");
  // A daemon from the file and one from the flags, on separate data folders.
  Daemon by_file(dirs.data_dir(), dirs.plugin_dir(), {"--config", config});
  DaemonFixtureDirs other;
  Daemon by_flags(other.data_dir(), other.plugin_dir(),
                  {"--max-ranks", "2", "--data-root", roots, "--max-body-mib", "1",
                   "--log-level", "debug"});
  auto ranks = [](int n) {
    return nlohmann::json{{"name", "r"},
                          {"steps", {{"a", {{"plugin", "test-ok"}, {"resources", {{"ranks", n}}}}}}}}
        .dump();
  };
  for (int n : {2, 3}) {
    auto a = by_file.post("/api/v1/validate", ranks(n));
    auto b = by_flags.post("/api/v1/validate", ranks(n));
    EXPECT_EQ(a.first, n == 2 ? 200 : 400) << a.second.dump();
    EXPECT_EQ(a, b) << "ranks " << n;
  }
  const std::string big(1536 * 1024, ' ');  // over 1 MiB: refused by both
  auto a = by_file.http().Post("/api/v1/validate", big + "{}", "application/json");
  auto b = by_flags.http().Post("/api/v1/validate", big + "{}", "application/json");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->status, 413);
  EXPECT_EQ(b->status, 413);

  // --check-config prints the same settings for the file as for the flags.
  const std::string common = std::string(RADFLOWD_BIN) + " --plugin-dir " + dirs.plugin_dir() +
                             " --data-dir " + dirs.data_dir() + " --gpus none";
  Output from_file = shell(common + " --config " + config + " --check-config");
  Output from_flags = shell(common + " --max-ranks 2 --data-root " + roots +
                            " --max-body-mib 1 --log-level debug --check-config");
  EXPECT_EQ(from_file.exit_code, 0) << from_file.text;
  EXPECT_EQ(from_flags.exit_code, 0) << from_flags.text;
  auto settings = [](const std::string& text) {
    const size_t start = text.find('{');
    if (start == std::string::npos) return nlohmann::json();
    return nlohmann::json::parse(text.substr(start, text.rfind('}') + 1 - start), nullptr, false);
  };
  EXPECT_EQ(settings(from_file.text), settings(from_flags.text));
  EXPECT_EQ(settings(from_file.text).value("max_ranks", 0), 2);
}

TEST(DaemonConfigFile, BadConfigIsRefusedNamingKeyAndReason) {
  DaemonFixtureDirs dirs;
  const std::string config = dirs.root() + "/bad.json";
  const std::string base = std::string(RADFLOWD_BIN) + " --plugin-dir " + dirs.plugin_dir() +
                           " --data-dir " + dirs.data_dir() + " --gpus none --config " + config;
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {R"({"max_rank": 4})", {"unknown key \"max_rank\"", config}},
      {R"({"max_ranks": "4"})", {"\"max_ranks\"", "whole number", "got string"}},
      {R"({"confine": 0})", {"\"confine\"", "true or false"}},
      {R"({"listen": "nowhere"})", {"\"listen\"", "HOST:PORT"}},
      {R"({"plugin_dir": "/no/such/folder"})", {"--plugin-dir /no/such/folder", "not a folder"}},
  };
  for (const auto& [text, says] : cases) {
    write_file(config, text);
    // plugin_dir from the file loses to the flag; that case checks without it.
    const std::string command =
        text.find("plugin_dir") != std::string::npos
            ? std::string(RADFLOWD_BIN) + " --data-dir " + dirs.data_dir() + " --config " + config
            : base;
    for (const char* mode : {" --check-config", ""}) {
      Output out = shell(command + mode);
      EXPECT_EQ(out.exit_code, 2) << text << mode << ": " << out.text;
      for (const auto& part : says) {
        EXPECT_NE(out.text.find(part), std::string::npos) << text << ": " << out.text;
      }
    }
  }
  // Nothing was started: no database in the data folder.
  EXPECT_FALSE(std::filesystem::exists(dirs.database()));
}

PromText scrape(Daemon& daemon) {
  auto res = daemon.http().Get("/metrics");
  EXPECT_TRUE(res && res->status == 200);
  if (!res) return {};
  EXPECT_EQ(res->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  PromText parsed = parse_prometheus_text(res->body);
  for (const auto& e : parsed.errors) ADD_FAILURE() << e;
  return parsed;
}

TEST(Metrics, ParseAndCountersMoveAsAWorkflowRuns) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  const PromText before = scrape(daemon);
  // Conventions: radflow_ prefix, counters end in _total, bounded label names.
  const std::set<std::string> allowed_labels = {"status", "reason", "plugin", "method",
                                                "route",  "le",     "version", "result"};
  for (const auto& [family, type] : before.types) {
    EXPECT_EQ(family.rfind("radflow_", 0), 0u) << family;
    if (type == "counter") EXPECT_TRUE(std::regex_search(family, std::regex("_total$"))) << family;
  }
  for (const char* family :
       {"radflow_runs", "radflow_steps_total", "radflow_queued_steps",
        "radflow_queued_steps_waiting", "radflow_attempts_started_total",
        "radflow_attempts_finished_total", "radflow_attempts_failed_total",
        "radflow_step_duration_seconds", "radflow_worker_processes", "radflow_gpu_slots_in_use",
        "radflow_db_writer_queue_jobs", "radflow_db_write_seconds", "radflow_http_requests_total",
        "radflow_http_request_duration_seconds", "radflow_open_streams",
        "radflow_artifact_store_bytes"}) {
    EXPECT_TRUE(before.types.count(family)) << family << " missing";
  }

  // Three steps that succeed (a chain) and one that fails.
  const std::string workflow = R"({"name": "m", "steps": {
      "a": {"plugin": "test-ok"},
      "b": {"plugin": "test-ok", "inputs": {"in": "a.out"}},
      "c": {"plugin": "test-ok", "inputs": {"in": "b.out"}},
      "f": {"plugin": "test-fail"}}})";
  auto [status, body] = daemon.post("/api/v1/runs", workflow);
  ASSERT_EQ(status, 201) << body.dump();
  auto run = daemon.wait_for_run(body["id"].get<int64_t>(), std::chrono::seconds(120));
  ASSERT_EQ(run["status"], "failed") << run.dump();
  const PromText after = scrape(daemon);

  auto moved = [&](const std::string& name, const std::map<std::string, std::string>& labels) {
    return after.value(name, labels) - before.value(name, labels);
  };
  EXPECT_EQ(moved("radflow_steps_total", {{"status", "succeeded"}}), 3);
  EXPECT_EQ(moved("radflow_steps_total", {{"status", "failed"}}), 1);
  EXPECT_EQ(moved("radflow_attempts_started_total", {{"plugin", "test-ok"}}), 3);
  EXPECT_EQ(moved("radflow_attempts_finished_total", {{"plugin", "test-ok"}, {"status", "succeeded"}}), 3);
  EXPECT_EQ(moved("radflow_attempts_failed_total", {{"reason", "plugin_failed"}}), 1);
  EXPECT_EQ(moved("radflow_step_duration_seconds_count", {{"plugin", "test-ok"}}), 3);
  EXPECT_EQ(moved("radflow_runs", {{"status", "failed"}}), 1);
  EXPECT_GT(moved("radflow_db_write_seconds_count", {}), 0);
  EXPECT_EQ(moved("radflow_http_requests_total",
                  {{"method", "POST"}, {"route", "/api/v1/runs"}, {"status", "201"}}), 1);
  EXPECT_GE(moved("radflow_http_requests_total",
                  {{"method", "GET"}, {"route", "/api/v1/runs/{run}"}, {"status", "200"}}), 1);
  EXPECT_GE(moved("radflow_http_request_duration_seconds_count",
                  {{"method", "GET"}, {"route", "/api/v1/runs/{run}"}}), 1);
  // Nothing runs any more: no workers, no slots held.
  EXPECT_EQ(after.value("radflow_worker_processes"), 0);
  EXPECT_EQ(after.value("radflow_cpu_slots_in_use"), 0);
  EXPECT_EQ(after.value("radflow_gpu_slots_in_use"), 0);
  EXPECT_EQ(after.value("radflow_queued_steps"), 0);
  for (const auto& s : after.samples) {
    for (const auto& [label, value] : s.labels) {
      EXPECT_TRUE(allowed_labels.count(label)) << s.name << " has label " << label;
    }
  }
  // An unknown path is one series, never one per path.
  daemon.http().Get("/api/v1/runs/1/nope/a");
  daemon.http().Get("/api/v1/runs/2/nope/b");
  // A request is counted when its response has been logged, just after it was sent.
  const std::map<std::string, std::string> unmatched = {
      {"method", "GET"}, {"route", "unmatched"}, {"status", "404"}};
  double seen = 0;
  for (int i = 0; i < 100 && seen < 2; ++i) {
    seen = scrape(daemon).value("radflow_http_requests_total", unmatched);
    if (seen < 2) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(seen, 2);
}

TEST(Metrics, QueueLengthAndWhyStepsWait) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--cpus", "1"});
  // A slow step holds the only CPU slot: b waits for a's output, c for the slot.
  const std::string workflow = R"({"name": "q", "steps": {
      "a": {"plugin": "test-ok", "params": {"sleep_ms": 60000}},
      "b": {"plugin": "test-ok", "inputs": {"in": "a.out"}},
      "c": {"plugin": "test-ok"}}})";
  auto [status, body] = daemon.post("/api/v1/runs", workflow);
  ASSERT_EQ(status, 201) << body.dump();
  PromText now;
  for (int i = 0; i < 400; ++i) {
    now = scrape(daemon);
    if (now.value("radflow_queued_steps") == 2 && now.value("radflow_worker_processes") == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(now.value("radflow_queued_steps"), 2);
  EXPECT_EQ(now.value("radflow_queued_steps_waiting", {{"reason", "input"}}), 1);
  EXPECT_EQ(now.value("radflow_queued_steps_waiting", {{"reason", "cpu"}}), 1);
  EXPECT_EQ(now.value("radflow_worker_processes"), 1);
  EXPECT_EQ(now.value("radflow_cpu_slots_in_use"), 1);
  EXPECT_EQ(now.value("radflow_runs", {{"status", "running"}}), 1);
  daemon.http().Post(("/api/v1/runs/" + std::to_string(body["id"].get<int64_t>()) + "/cancel").c_str(),
                     "", "application/json");
}

}  // namespace
}  // namespace radflow::test
