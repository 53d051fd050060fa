// Hostile and mistaken requests: every one is refused with a JSON error that
// names the limit, and the daemon is still up and answering /healthz afterwards,
// with nothing stored for what it refused.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

using Clock = std::chrono::steady_clock;

// The first error's code of a JSON error body, or "" when the body has none.
std::string first_code(const nlohmann::json& body) {
  if (!body.is_object() || !body.contains("errors") || body["errors"].empty()) return "";
  return body["errors"][0].value("code", "");
}

void expect_healthy(Daemon& daemon, const std::string& database) {
  ASSERT_TRUE(daemon.running()) << "the daemon died";
  EXPECT_EQ(daemon.get("/healthz")["status"], "ok");
  EXPECT_EQ(sql_text(database, "PRAGMA quick_check"), "ok");
}

// A raw HTTP/1.1 exchange, for requests httplib's client will not send.
std::string raw_request(int port, const std::string& request, int read_timeout_s = 10) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  timeval tv{read_timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may stop reading once it has refused
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buffer[4096];
  for (ssize_t n; (n = recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    reply.append(buffer, static_cast<size_t>(n));
    if (reply.find("\r\n\r\n") != std::string::npos &&
        reply.find("\"errors\"") != std::string::npos && reply.back() == '}') {
      break;
    }
  }
  close(fd);
  return reply;
}

int status_of(const std::string& reply) {
  return reply.size() > 12 ? std::atoi(reply.substr(9, 3).c_str()) : 0;
}

class Limits : public ::testing::Test {
 protected:
  DaemonFixtureDirs dirs_;
};

TEST_F(Limits, DeepNestingIsRefusedWithoutTouchingTheStack) {
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
  // Deep enough to overflow any recursive copy, dump or schema check.
  const int depth = 200000;
  const std::string params = std::string(depth, '[') + std::string(depth, ']');
  const std::string body = R"({"name": "deep", "steps": {"a": {"plugin": "test-ok", "params": {"x": )" +
                           params + "}}}}";
  for (const char* route : {"/api/v1/validate", "/api/v1/runs"}) {
    auto [status, reply] = daemon.post(route, body);
    EXPECT_EQ(status, 400) << route;
    EXPECT_EQ(first_code(reply), "too_deep") << reply.dump();
  }
  expect_healthy(daemon, dirs_.database());
  EXPECT_EQ(sql_count(dirs_.database(), "SELECT COUNT(*) FROM runs"), 0);
}

TEST_F(Limits, BodiesOverTheLimitAre413ChunkedOrNot) {
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir(), {"--max-body-mib", "1"});
  const std::string big(2 * 1024 * 1024, ' ');
  auto [status, reply] = daemon.post("/api/v1/runs", "{" + big + "}");
  EXPECT_EQ(status, 413);
  EXPECT_EQ(first_code(reply), "body_too_large") << reply.dump();

  // The same body sent chunked: cpp-httplib alone would read all of it.
  std::string chunked =
      "POST /api/v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  const std::string piece(64 * 1024, ' ');
  char size[32];
  std::snprintf(size, sizeof(size), "%zx\r\n", piece.size());
  for (int i = 0; i < 40; ++i) chunked += size + piece + "\r\n";
  chunked += "0\r\n\r\n";
  const std::string chunked_reply = raw_request(daemon.port(), chunked);
  EXPECT_EQ(status_of(chunked_reply), 413) << chunked_reply.substr(0, 300);
  EXPECT_NE(chunked_reply.find("body_too_large"), std::string::npos);

  // A small chunked workflow is still accepted.
  const std::string workflow = R"({"name":"chunked","steps":{"a":{"plugin":"test-ok"}}})";
  std::snprintf(size, sizeof(size), "%zx\r\n", workflow.size());
  const std::string ok_reply = raw_request(
      daemon.port(),
      "POST /api/v1/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
          std::string(size) + workflow + "\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(ok_reply), 200) << ok_reply;

  // Routes that take no body refuse a chunked one instead of reading it unbounded.
  const std::string cancel_reply = raw_request(
      daemon.port(),
      "POST /api/v1/runs/1/cancel HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
          std::string(size) + workflow + "\r\n");
  EXPECT_EQ(status_of(cancel_reply), 411) << cancel_reply;
  expect_healthy(daemon, dirs_.database());
  EXPECT_EQ(sql_count(dirs_.database(), "SELECT COUNT(*) FROM runs"), 0);
}

TEST_F(Limits, WorkflowSizeLimitsNameTheLimit) {
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir());
  nlohmann::json many = {{"name", "many"}, {"steps", nlohmann::json::object()}};
  for (int i = 0; i < 10001; ++i) many["steps"]["s" + std::to_string(i)] = {{"plugin", "test-ok"}};
  auto [status, reply] = daemon.post("/api/v1/runs", many.dump());
  EXPECT_EQ(status, 400);
  EXPECT_EQ(first_code(reply), "too_many_steps") << reply.dump().substr(0, 500);

  nlohmann::json fat = {{"name", "fat"},
                        {"steps", {{"a", {{"plugin", "test-schema"},
                                          {"params", {{"blob", std::string(300000, 'x')}}}}}}}};
  std::tie(status, reply) = daemon.post("/api/v1/validate", fat.dump());
  EXPECT_EQ(status, 400);
  bool named = false;
  for (const auto& e : reply["errors"]) {
    named |= e["code"] == "params_too_large" && e["path"] == "/steps/a/params";
  }
  EXPECT_TRUE(named) << reply.dump().substr(0, 800);

  // Thousands of mistakes: the first 100 and one error that counts the rest.
  nlohmann::json wrong = {{"name", "wrong"}, {"steps", nlohmann::json::object()}};
  for (int i = 0; i < 3000; ++i) wrong["steps"]["s" + std::to_string(i)] = {{"plugin", "nope"}};
  std::tie(status, reply) = daemon.post("/api/v1/validate", wrong.dump());
  EXPECT_EQ(status, 400);
  ASSERT_EQ(reply["errors"].size(), 101u);
  EXPECT_EQ(reply["errors"][100]["code"], "too_many_errors");
  EXPECT_NE(reply["errors"][100]["message"].get<std::string>().find("2900 more"),
            std::string::npos);

  // A step name of 100,000 characters (std::regex would recurse once per character).
  nlohmann::json long_name = {{"name", "long"},
                              {"steps", {{std::string(100000, 'a'), {{"plugin", "test-ok"}}}}}};
  std::tie(status, reply) = daemon.post("/api/v1/validate", long_name.dump());
  EXPECT_EQ(status, 400);
  EXPECT_LT(reply.dump().size(), 4000u) << "error messages are bounded";
  expect_healthy(daemon, dirs_.database());
  EXPECT_EQ(sql_count(dirs_.database(), "SELECT COUNT(*) FROM runs"), 0);
}

TEST_F(Limits, ResourceRequestsThatCouldForkBombAreRefused) {
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir(), {"--max-ranks", "8"});
  struct Case {
    nlohmann::json resources;
    nlohmann::json timeout;
    std::string path;
  };
  const std::vector<Case> cases = {
      {{{"ranks", 5000}}, nullptr, "/steps/a/resources/ranks"},
      {{{"cpus", 0.000001}}, nullptr, "/steps/a/resources/cpus"},
      {nlohmann::json::object(), 1e300, "/steps/a/timeout_s"},
  };
  for (const auto& c : cases) {
    nlohmann::json step = {{"plugin", "test-ok"}, {"resources", c.resources}};
    if (!c.timeout.is_null()) step["timeout_s"] = c.timeout;
    nlohmann::json workflow = {{"name", "greedy"}, {"steps", {{"a", step}}}};
    auto [status, reply] = daemon.post("/api/v1/runs", workflow.dump());
    EXPECT_EQ(status, 400) << workflow.dump();
    ASSERT_FALSE(reply["errors"].empty());
    EXPECT_EQ(reply["errors"][0]["path"], c.path) << reply.dump();
  }
  expect_healthy(daemon, dirs_.database());
  EXPECT_EQ(sql_count(dirs_.database(), "SELECT COUNT(*) FROM runs"), 0);
}

TEST_F(Limits, StreamsAreCappedAndHealthzStaysFast) {
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir(),
                {"--max-streams", "10", "--max-streams-per-client", "4", "--http-threads", "16"});
  // Event streams held open by other clients; each holds an HTTP thread.
  std::vector<std::unique_ptr<httplib::Client>> clients;
  std::vector<std::thread> readers;
  std::atomic<int> ok{0}, too_many_client{0}, too_many_server{0};
  std::atomic<bool> stop{false};
  for (int i = 0; i < 14; ++i) {
    readers.emplace_back([&, i] {
      httplib::Client client("127.0.0.1", daemon.port());
      client.set_read_timeout(30);
      auto res = client.Get("/api/v1/events", [&](const httplib::Response& r) {
        if (r.status == 200) ++ok;
        if (r.status == 429) ++too_many_client;
        if (r.status == 503) ++too_many_server;
        return r.status == 200;
      }, [&](const char*, size_t) { return !stop.load(); });
      (void)res;
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  // Every stream comes from 127.0.0.1: four get in, the rest are refused by 429.
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(too_many_client.load(), 10);
  // Slow clients that never finish their headers hold threads too.
  std::vector<int> slow;
  for (int i = 0; i < 10; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(daemon.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    (void)!send(fd, partial, sizeof(partial) - 1, MSG_NOSIGNAL);
    slow.push_back(fd);
  }
  std::vector<double> latencies_ms;
  for (int i = 0; i < 20; ++i) {
    const auto start = Clock::now();
    httplib::Client probe("127.0.0.1", daemon.port());
    probe.set_read_timeout(5);
    auto res = probe.Get("/healthz");
    ASSERT_TRUE(res) << "healthz did not answer with streams and slow clients open";
    EXPECT_EQ(res->status, 200);
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  // Not a speed target: "answers at all instead of hanging for seconds".
  EXPECT_LT(latencies_ms.back(), 2000) << "slowest healthz";
  stop = true;
  for (int fd : slow) close(fd);
  // A new event stream is admitted once the old ones have closed.
  auto tick = daemon.post("/api/v1/runs", R"({"name":"tick","steps":{"a":{"plugin":"test-ok"}}})");
  EXPECT_EQ(tick.first, 201);
  for (auto& t : readers) t.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  httplib::Client again("127.0.0.1", daemon.port());
  int status = 0;
  again.Get(
      "/api/v1/events",
      [&](const httplib::Response& r) {
        status = r.status;
        return false;
      },
      [](const char*, size_t) { return false; });
  EXPECT_EQ(status, 200);
  expect_healthy(daemon, dirs_.database());
}

TEST_F(Limits, ServerWideStreamCapAnswers503) {
  Daemon daemon(dirs_.data_dir(), dirs_.plugin_dir(),
                {"--max-streams", "3", "--max-streams-per-client", "100"});
  std::atomic<int> ok{0}, refused{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 6; ++i) {
    readers.emplace_back([&] {
      httplib::Client client("127.0.0.1", daemon.port());
      client.set_read_timeout(30);
      client.Get("/api/v1/events", [&](const httplib::Response& r) {
        if (r.status == 200) ++ok;
        if (r.status == 503) ++refused;
        return r.status == 200;
      }, [&](const char*, size_t) { return !stop.load(); });
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(ok.load(), 3);
  EXPECT_EQ(refused.load(), 3);
  stop = true;
  daemon.post("/api/v1/runs", R"({"name":"tick","steps":{"a":{"plugin":"test-ok"}}})");
  for (auto& t : readers) t.join();
  expect_healthy(daemon, dirs_.database());
}

}  // namespace
}  // namespace radflow::test
