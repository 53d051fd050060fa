// Load: 50 concurrent clients for 60 s on loopback against one daemon. They submit
// small workflows (at a bounded rate, so the runs can drain), read run details and
// lists, follow step logs and stream /api/v1/events, each pausing 20-50 ms between
// requests, while another thread times /healthz every 50 ms. The figures are printed
// for quoting; the test asserts no 5xx (stream refusals aside), no connection error,
// every accepted run succeeded, and a /healthz p99 under 50 ms.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "tests/e2e/audit.h"
#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr int kClients = 50;
constexpr auto kLoad = seconds(60);
constexpr auto kDrain = seconds(90);
constexpr double kSubmitsPerSecond = 2.5;  // all clients together

enum Kind { kSubmit, kRunDetail, kRunList, kFollowLogs, kEvents, kKinds };
const std::array<const char*, kKinds> kKindNames = {"submit", "run detail", "run list",
                                                    "follow logs", "events stream"};

struct Tally {
  std::atomic<int64_t> requests{0}, ok{0}, client_errors{0}, server_errors{0}, refusals{0},
      connection_errors{0};
};

// What every client shares: counters, the runs accepted so far, and the budget of
// submissions.
class Load {
 public:
  explicit Load(int port) : port_(port), start_(Clock::now()) {}

  int port() const { return port_; }
  Tally& tally(Kind kind) { return tallies_[kind]; }

  // true when a submission may go out now (kSubmitsPerSecond overall).
  bool take_submit_token() {
    std::lock_guard<std::mutex> lock(mu_);
    const double elapsed_s = std::chrono::duration<double>(Clock::now() - start_).count();
    if (submits_granted_ >= elapsed_s * kSubmitsPerSecond) return false;
    ++submits_granted_;
    return true;
  }
  void accepted(int64_t run_id, int steps) {
    std::lock_guard<std::mutex> lock(mu_);
    runs_[run_id] = steps;
  }
  std::map<int64_t, int> runs() {
    std::lock_guard<std::mutex> lock(mu_);
    return runs_;
  }
  // A random accepted run and one of its steps ("s0".."s2"); {0, ""} when none yet.
  std::pair<int64_t, std::string> pick(std::mt19937& rng) {
    std::lock_guard<std::mutex> lock(mu_);
    if (runs_.empty()) return {0, ""};
    // Mostly recent runs, as a dashboard would look at.
    const size_t window = std::min<size_t>(runs_.size(), 20);
    auto it = runs_.rbegin();
    std::advance(it, std::uniform_int_distribution<size_t>(0, window - 1)(rng));
    const int step = std::uniform_int_distribution<int>(0, it->second - 1)(rng);
    return {it->first, "s" + std::to_string(step)};
  }
  void note_error(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (errors_.size() < 20) errors_.push_back(what);
  }
  std::vector<std::string> errors() {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }

 private:
  int port_;
  Clock::time_point start_;
  std::array<Tally, kKinds> tallies_;
  std::mutex mu_;
  double submits_granted_ = 0;
  std::map<int64_t, int> runs_;  // run id -> steps
  std::vector<std::string> errors_;
};

bool is_stream_refusal(int status, const std::string& body) {
  return (status == 429 || status == 503) && body.find("too_many_streams") != std::string::npos;
}

void count(Load& load, Kind kind, const httplib::Result& res, const std::string& body) {
  Tally& tally = load.tally(kind);
  ++tally.requests;
  if (!res) {
    ++tally.connection_errors;
    load.note_error(std::string(kKindNames[kind]) + ": " + httplib::to_string(res.error()));
  } else if (is_stream_refusal(res->status, body)) {
    ++tally.refusals;
  } else if (res->status >= 500) {
    ++tally.server_errors;
    load.note_error(std::string(kKindNames[kind]) + ": " + std::to_string(res->status) + " " +
                    body.substr(0, 300));
  } else if (res->status >= 400) {
    ++tally.client_errors;
    load.note_error(std::string(kKindNames[kind]) + ": " + std::to_string(res->status) + " " +
                    body.substr(0, 300));
  } else {
    ++tally.ok;
  }
}

nlohmann::json small_workflow(std::mt19937& rng, int& steps) {
  steps = std::uniform_int_distribution<int>(1, 3)(rng);
  nlohmann::json workflow = {{"name", "load"}, {"steps", nlohmann::json::object()}};
  for (int i = 0; i < steps; ++i) {
    nlohmann::json step = {{"plugin", "test-ok"},
                           {"cache", false},
                           {"params", {{"sleep_ms", std::uniform_int_distribution<int>(20, 100)(rng)}}}};
    if (i > 0) step["inputs"] = {{"in", "s" + std::to_string(i - 1) + ".out"}};
    workflow["steps"]["s" + std::to_string(i)] = step;
  }
  return workflow;
}

// A streamed GET read for at most `keep` (then closed by us, which is not an
// error); a refusal's or error's body is kept for counting.
void stream(Load& load, Kind kind, httplib::Client& client, const std::string& path,
            Clock::duration keep) {
  int status = 0;
  std::string body;
  bool closed_by_us = false;
  const auto until = Clock::now() + keep;
  auto res = client.Get(
      path,
      [&](const httplib::Response& response) {
        status = response.status;
        return true;
      },
      [&](const char* data, size_t size) {
        if (status != 200 && body.size() < 4096) body.append(data, size);
        if (status == 200 && Clock::now() > until) {
          closed_by_us = true;
          return false;
        }
        return true;
      });
  if (!res && closed_by_us && res.error() == httplib::Error::Canceled) {
    ++load.tally(kind).requests;
    ++load.tally(kind).ok;
    return;
  }
  count(load, kind, res, body);
}

void client_loop(Load& load, int index, Clock::time_point end) {
  std::mt19937 rng(1000 + index);
  httplib::Client client("127.0.0.1", load.port());
  client.set_read_timeout(30);
  client.set_connection_timeout(10);
  httplib::Client streams("127.0.0.1", load.port());
  streams.set_read_timeout(30);  // a followed step ends; events keep alive every 10 s
  streams.set_connection_timeout(10);
  while (Clock::now() < end) {
    const int dice = std::uniform_int_distribution<int>(0, 99)(rng);
    auto [run_id, step] = load.pick(rng);
    if (dice < 15 && load.take_submit_token()) {
      int steps = 0;
      const std::string body = small_workflow(rng, steps).dump();
      auto res = client.Post("/api/v1/runs", body, "application/json");
      count(load, kSubmit, res, res ? res->body : "");
      if (res && res->status == 201) {
        load.accepted(nlohmann::json::parse(res->body)["id"].get<int64_t>(), steps);
      }
    } else if (dice < 50 && run_id > 0) {
      auto res = client.Get("/api/v1/runs/" + std::to_string(run_id));
      count(load, kRunDetail, res, res ? res->body : "");
    } else if (dice < 70 || run_id == 0) {
      auto res = client.Get(dice % 2 ? "/api/v1/runs?limit=20" : "/api/v1/runs?status=running");
      count(load, kRunList, res, res ? res->body : "");
    } else if (dice < 85) {
      stream(load, kFollowLogs, streams,
             "/api/v1/runs/" + std::to_string(run_id) + "/steps/" + step + "/logs?follow=1",
             seconds(20));
    } else {
      stream(load, kEvents, streams, "/api/v1/events",
             milliseconds(std::uniform_int_distribution<int>(500, 3000)(rng)));
    }
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(20, 50)(rng)));
  }
}

int64_t percentile(std::vector<int64_t> sorted_us, double p) {
  if (sorted_us.empty()) return 0;
  std::sort(sorted_us.begin(), sorted_us.end());
  const size_t index = std::min(sorted_us.size() - 1, static_cast<size_t>(p * sorted_us.size()));
  return sorted_us[index];
}

TEST(Load, FiftyClientsForAMinuteGetNoServerErrorsAndHealthzStaysFast) {
  DaemonFixtureDirs dirs;
  // Every client comes from 127.0.0.1: lift the per-client stream limit to the
  // server-wide default (24), so that streams really run and the server-wide gate
  // and thread pool are what is exercised.
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir(),
                {"--cpus", "8", "--max-streams-per-client", "24"});
  Load load(daemon.port());

  std::atomic<bool> measuring{true};
  std::vector<int64_t> health_us;
  int64_t health_failures = 0;
  std::thread health([&] {
    httplib::Client client("127.0.0.1", daemon.port());
    client.set_read_timeout(10);
    auto next = Clock::now();
    while (measuring) {
      const auto start = Clock::now();
      auto res = client.Get("/healthz");
      health_us.push_back(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
      if (!res || res->status != 200) ++health_failures;
      next += milliseconds(50);
      std::this_thread::sleep_until(std::max(next, Clock::now()));
    }
  });

  const auto end = Clock::now() + kLoad;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) clients.emplace_back(client_loop, std::ref(load), i, end);
  for (auto& client : clients) client.join();
  measuring = false;
  health.join();
  const bool up_after_load = daemon.running();

  // Drain: every accepted run must finish.
  const auto runs = load.runs();
  const auto drain_deadline = Clock::now() + kDrain;
  int64_t succeeded = 0, finished = 0;
  std::vector<std::string> not_succeeded;
  for (const auto& [run_id, steps] : runs) {
    const auto left = std::chrono::duration_cast<seconds>(drain_deadline - Clock::now());
    auto run = daemon.wait_for_run(run_id, std::max(left, seconds(1)));
    const std::string status = run.value("status", "");
    finished += status == "succeeded" || status == "failed" || status == "cancelled";
    if (status == "succeeded") {
      ++succeeded;
    } else if (not_succeeded.size() < 5) {
      not_succeeded.push_back("run " + std::to_string(run_id) + ": " + status);
    }
  }

  std::printf("load: %d clients, %lld s, daemon --cpus 8 --max-streams-per-client 24\n", kClients,
              static_cast<long long>(kLoad.count()));
  int64_t total = 0, server_errors = 0, connection_errors = 0, refusals = 0;
  for (int kind = 0; kind < kKinds; ++kind) {
    Tally& t = load.tally(static_cast<Kind>(kind));
    std::printf("  %-13s %6lld requests: %6lld ok, %4lld 4xx, %4lld 5xx, %5lld stream refusals, "
                "%4lld connection errors\n",
                kKindNames[kind], static_cast<long long>(t.requests.load()),
                static_cast<long long>(t.ok.load()), static_cast<long long>(t.client_errors.load()),
                static_cast<long long>(t.server_errors.load()),
                static_cast<long long>(t.refusals.load()),
                static_cast<long long>(t.connection_errors.load()));
    total += t.requests;
    server_errors += t.server_errors;
    connection_errors += t.connection_errors;
    refusals += t.refusals;
  }
  const int64_t p50 = percentile(health_us, 0.50), p99 = percentile(health_us, 0.99);
  const int64_t max = health_us.empty() ? 0 : *std::max_element(health_us.begin(), health_us.end());
  std::printf("  total %lld requests (%.0f/s); runs accepted %zu, finished %lld, succeeded %lld\n",
              static_cast<long long>(total), static_cast<double>(total) / kLoad.count(), runs.size(),
              static_cast<long long>(finished), static_cast<long long>(succeeded));
  std::printf("  healthz: %zu probes, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %lld failures\n",
              health_us.size(), p50 / 1000.0, p99 / 1000.0, max / 1000.0,
              static_cast<long long>(health_failures));
  for (const auto& error : load.errors()) std::printf("  error: %s\n", error.c_str());

  EXPECT_TRUE(up_after_load);
  EXPECT_EQ(server_errors, 0);
  EXPECT_EQ(connection_errors, 0);
  EXPECT_GT(runs.size(), 50u);
  EXPECT_EQ(succeeded, static_cast<int64_t>(runs.size()))
      << "accepted runs that did not succeed within " << kDrain.count() << " s, e.g. "
      << (not_succeeded.empty() ? "" : not_succeeded.front());
  EXPECT_EQ(health_failures, 0);
  EXPECT_LT(p99, 50'000) << "healthz p99 " << p99 / 1000.0 << " ms";

  daemon.stop();
  const auto problems = audit_data_dir(dirs.data_dir(), AuditScope::kQuiescent);
  EXPECT_TRUE(problems.empty()) << audit_report(problems);
}

}  // namespace
}  // namespace radflow::test
