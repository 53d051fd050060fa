// Security end to end (SECURITY.md): roles on every route of auth::route_table(),
// run ownership, Host and cross-site refusals that change nothing, the refusal to
// listen off loopback without a token, TLS with the CLI, and tokens never stored
// or logged in clear.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "orchestrator/api/auth.h"
#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {

constexpr const char* kWorkflow = R"({"name": "t", "steps": {"a": {"plugin": "test-ok"}}})";
constexpr const char* kSlowWorkflow =
    R"({"name": "slow", "steps": {"a": {"plugin": "test-ok", "params": {"sleep_ms": 60000}}}})";

struct Output {
  int exit_code = -1;
  std::string out;  // stdout
};

Output shell(const std::string& command) {
  Output result;
  FILE* pipe = popen(command.c_str(), "r");
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.out.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// `radflowd token create NAME --role ROLE`: the token it prints.
std::string create_token(const std::string& data_dir, const std::string& name,
                         const std::string& role) {
  Output created = shell(std::string(RADFLOWD_BIN) + " token create " + name + " --role " + role +
                         " --data-dir " + data_dir + " 2>/dev/null");
  EXPECT_EQ(created.exit_code, 0);
  std::string token = created.out.substr(0, created.out.find('\n'));
  EXPECT_EQ(token.rfind("rf_", 0), 0u) << created.out;
  return token;
}

httplib::Headers bearer(const std::string& token) {
  if (token.empty()) return {};
  return {{"Authorization", "Bearer " + token}};
}

// Calls a route as in the table, with a body it accepts where it takes one.
httplib::Result call(httplib::Client& http, const auth::RouteRule& rule, const std::string& path,
                     const httplib::Headers& headers, const std::string& session_token = "") {
  const std::string method = rule.method;
  if (method == "GET") return http.Get(path.c_str(), headers);
  if (method == "DELETE") return http.Delete(path.c_str(), headers, "", "application/json");
  std::string body;
  if (path == "/api/v1/runs" || path == "/api/v1/validate") body = kWorkflow;
  if (path == "/api/v1/session") body = nlohmann::json{{"token", session_token}}.dump();
  return http.Post(path.c_str(), headers, body, "application/json");
}

int64_t submit(Daemon& daemon, const std::string& token, const char* workflow) {
  auto res = daemon.http().Post("/api/v1/runs", bearer(token), workflow, "application/json");
  EXPECT_TRUE(res && res->status == 201) << (res ? res->body : "no reply");
  return res ? nlohmann::json::parse(res->body).value("id", int64_t{0}) : 0;
}

std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(Security, EveryRouteNeedsItsRole) {
  DaemonFixtureDirs dirs;
  const std::map<auth::Role, std::string> tokens = {
      {auth::Role::kViewer, create_token(dirs.data_dir(), "viewer1", "viewer")},
      {auth::Role::kSubmitter, create_token(dirs.data_dir(), "submitter1", "submitter")},
      {auth::Role::kAdmin, create_token(dirs.data_dir(), "admin1", "admin")},
  };
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  // Run 1, the submitter's, finished: every run route has something to act on.
  const int64_t run = submit(daemon, tokens.at(auth::Role::kSubmitter), kWorkflow);
  ASSERT_EQ(run, 1);
  auto headers = bearer(tokens.at(auth::Role::kAdmin));
  for (int i = 0; i < 600; ++i) {
    auto res = daemon.http().Get("/api/v1/runs/1", headers);
    if (res && nlohmann::json::parse(res->body).value("status", "") == "succeeded") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (const auto& rule : auth::route_table()) {
    const std::string name = std::string(rule.method) + " " + rule.example;
    // The event stream never ends: ask for it with a short read timeout only when
    // it must be refused (a refusal comes at once).
    const bool stream = std::string(rule.example) == "/api/v1/events";
    if (rule.role != auth::Role::kPublic) {
      auto none = call(daemon.http(), rule, rule.example, {});
      ASSERT_TRUE(none) << name;
      EXPECT_EQ(none->status, 401) << name << ": " << none->body;
      EXPECT_NE(none->body.find("\"errors\""), std::string::npos) << name;
      auto invalid = call(daemon.http(), rule, rule.example, bearer("rf_not_a_token"));
      ASSERT_TRUE(invalid) << name;
      EXPECT_EQ(invalid->status, 401) << name;
    }
    for (const auto& [role, token] : tokens) {
      if (role >= rule.role) continue;
      auto weak = call(daemon.http(), rule, rule.example, bearer(token));
      ASSERT_TRUE(weak) << name;
      EXPECT_EQ(weak->status, 403) << name << " as " << auth::role_name(role) << ": " << weak->body;
    }
    // The attempt route takes no user's token; an attempt's own is tested with the
    // Slurm executor (tests/slurm).
    if (stream || rule.role == auth::Role::kAttempt) continue;
    const std::string& right =
        rule.role == auth::Role::kPublic ? tokens.at(auth::Role::kViewer) : tokens.at(rule.role);
    auto ok = call(daemon.http(), rule, rule.example, bearer(right), right);
    ASSERT_TRUE(ok) << name;
    EXPECT_NE(ok->status, 401) << name << ": " << ok->body;
    EXPECT_NE(ok->status, 403) << name << ": " << ok->body;
    EXPECT_LT(ok->status, 500) << name << ": " << ok->body;
  }
  // The run carries the token's name, whatever the client says.
  auto res = daemon.http().Post("/api/v1/runs",
                                {{"Authorization", "Bearer " + tokens.at(auth::Role::kSubmitter)},
                                 {"X-Radflow-User", "mallory"}},
                                kWorkflow, "application/json");
  ASSERT_TRUE(res && res->status == 201);
  const auto id = nlohmann::json::parse(res->body)["id"].get<int64_t>();
  EXPECT_EQ(sql_text(dirs.database(), "SELECT submitted_by FROM runs WHERE id = " +
                                          std::to_string(id)),
            "submitter1");
  // The audit log names who did what.
  EXPECT_GE(sql_count(dirs.database(),
                      "SELECT COUNT(*) FROM audit_log WHERE actor = 'submitter1' AND "
                      "action = 'submit'"),
            2);
  EXPECT_EQ(sql_count(dirs.database(),
                      "SELECT COUNT(*) FROM audit_log WHERE action = 'token_create'"),
            3);
}

TEST(Security, SubmitterChangesOnlyItsOwnRuns) {
  DaemonFixtureDirs dirs;
  const std::string alice = create_token(dirs.data_dir(), "alice", "submitter");
  const std::string bob = create_token(dirs.data_dir(), "bob", "submitter");
  const std::string admin = create_token(dirs.data_dir(), "root", "admin");
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  const int64_t run = submit(daemon, alice, kSlowWorkflow);
  const std::string base = "/api/v1/runs/" + std::to_string(run);
  for (const std::string path : {base + "/cancel", base + "/retry", base + "/steps/a/rerun"}) {
    auto res = daemon.http().Post(path.c_str(), bearer(bob), "", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 403) << path << ": " << res->body;
    EXPECT_NE(res->body.find("not_owner"), std::string::npos) << res->body;
  }
  auto del = daemon.http().Delete(base.c_str(), bearer(bob), "", "application/json");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 403);
  EXPECT_EQ(sql_count(dirs.database(), "SELECT cancel_requested FROM runs WHERE id = " +
                                           std::to_string(run)),
            0);
  // The admin may.
  auto cancelled = daemon.http().Post((base + "/cancel").c_str(), bearer(admin), "",
                                      "application/json");
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, 202) << cancelled->body;
  nlohmann::json done;
  for (int i = 0; i < 600; ++i) {
    auto res = daemon.http().Get(base.c_str(), bearer(alice));
    done = nlohmann::json::parse(res->body);
    if (done.value("status", "") == "cancelled") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(done.value("status", ""), "cancelled");
  // Its owner may too.
  auto deleted = daemon.http().Delete(base.c_str(), bearer(alice), "", "application/json");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 200) << deleted->body;
  EXPECT_EQ(sql_count(dirs.database(),
                      "SELECT COUNT(*) FROM audit_log WHERE actor = 'root' AND action = 'cancel'"),
            1);
  EXPECT_EQ(sql_count(dirs.database(),
                      "SELECT COUNT(*) FROM audit_log WHERE actor = 'alice' AND action = 'delete'"),
            1);
  // The audit route is the admin's.
  auto audit = daemon.http().Get("/api/v1/audit", bearer(admin));
  ASSERT_TRUE(audit && audit->status == 200);
  EXPECT_NE(audit->body.find("\"action\":\"delete\""), std::string::npos) << audit->body;
}

TEST(Security, ForeignHostAndCrossSiteRequestsChangeNothing) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());  // no token: loopback, open
  const int64_t run = submit(daemon, "", kWorkflow);
  ASSERT_EQ(run, 1);
  daemon.wait_for_run(run, std::chrono::seconds(60));
  auto snapshot = [&] {
    return sql_text(dirs.database(),
                    "SELECT (SELECT COUNT(*) FROM runs) || '/' || (SELECT group_concat(status || "
                    "cancel_requested) FROM runs) || '/' || (SELECT COUNT(*) FROM audit_log) || "
                    "'/' || (SELECT COUNT(*) FROM steps)");
  };
  const std::string before = snapshot();

  auto rebound = daemon.http().Get("/api/v1/runs", {{"Host", "evil.example:8080"}});
  ASSERT_TRUE(rebound);
  EXPECT_EQ(rebound->status, 421);
  EXPECT_NE(rebound->body.find("host_not_allowed"), std::string::npos);

  const std::string host = "127.0.0.1:" + std::to_string(daemon.port());
  for (const auto& rule : auth::route_table()) {
    if (!auth::is_state_changing(rule.method)) continue;
    const std::string name = std::string(rule.method) + " " + rule.example;
    const std::vector<std::pair<httplib::Headers, std::string>> attacks = {
        {{{"Origin", "http://evil.example"}}, "application/json"},
        {{{"Origin", "http://127.0.0.1:1"}}, "application/json"},
        {{{"Sec-Fetch-Site", "cross-site"}}, "application/json"},
        {{}, "text/plain"},
        {{}, "application/x-www-form-urlencoded"},
        {{{"Host", "evil.example"}}, "application/json"},
    };
    for (const auto& [headers, type] : attacks) {
      const std::string body =
          std::string(rule.example) == "/api/v1/runs" ? kWorkflow : "{\"token\":\"x\"}";
      auto res = std::string(rule.method) == "DELETE"
                     ? daemon.http().Delete(rule.example, headers, body, type.c_str())
                     : daemon.http().Post(rule.example, headers, body, type.c_str());
      ASSERT_TRUE(res) << name;
      const bool foreign_host = headers.count("Host") > 0;
      EXPECT_EQ(res->status, foreign_host ? 421 : 403) << name << " " << type << ": " << res->body;
      EXPECT_NE(res->body.find("\"errors\""), std::string::npos);
    }
  }
  EXPECT_EQ(snapshot(), before);
  // The same request, same-origin and JSON, works.
  auto own = daemon.http().Post("/api/v1/runs/1/retry", {{"Origin", "http://" + host}}, "",
                                "application/json");
  ASSERT_TRUE(own);
  EXPECT_NE(own->status, 403) << own->body;
}

TEST(Security, NonLoopbackNeedsAToken) {
  DaemonFixtureDirs dirs;
  Output refused = shell(std::string(RADFLOWD_BIN) + " --listen 0.0.0.0:0 --data-dir " +
                         dirs.data_dir() + " --plugin-dir " + dirs.plugin_dir() +
                         " --gpus none 2>&1");
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  EXPECT_NE(refused.out.find("without a token"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("radflowd token create NAME --role admin"), std::string::npos)
      << refused.out;
  // With a token it serves; the token list shows it, the hash never.
  create_token(dirs.data_dir(), "ops", "admin");
  Output list = shell(std::string(RADFLOWD_BIN) + " token list --data-dir " + dirs.data_dir());
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("ops"), std::string::npos) << list.out;
  Output revoked =
      shell(std::string(RADFLOWD_BIN) + " token revoke ops --data-dir " + dirs.data_dir() + " 2>&1");
  EXPECT_EQ(revoked.exit_code, 0) << revoked.out;
  Output again =
      shell(std::string(RADFLOWD_BIN) + " token revoke ops --data-dir " + dirs.data_dir() + " 2>&1");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("no active token named ops"), std::string::npos) << again.out;
}

TEST(Security, TokensAreNeverStoredOrLoggedInClear) {
  DaemonFixtureDirs dirs;
  const std::string token = create_token(dirs.data_dir(), "carol", "submitter");
  {
    Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--log-level", "trace"});
    submit(daemon, token, kWorkflow);
    auto signed_in = daemon.http().Post("/api/v1/session", nlohmann::json{{"token", token}}.dump(),
                                        "application/json");
    ASSERT_TRUE(signed_in);
    EXPECT_EQ(signed_in->status, 200);
    const std::string cookie = signed_in->get_header_value("Set-Cookie");
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
    auto by_cookie = daemon.http().Get("/api/v1/session",
                                       {{"Cookie", cookie.substr(0, cookie.find(';'))}});
    ASSERT_TRUE(by_cookie);
    EXPECT_EQ(nlohmann::json::parse(by_cookie->body).value("name", ""), "carol");
    daemon.http().Get("/api/v1/runs", bearer(token + "x"));  // a wrong one, logged as a 401
    for (const char* file : {"/radflowd.log", "/radflow.db", "/radflow.db-wal"}) {
      EXPECT_EQ(read_bytes(dirs.data_dir() + file).find(token.substr(3)), std::string::npos)
          << file;
    }
  }
  for (const char* file : {"/radflowd.log", "/radflow.db", "/radflow.db-wal"}) {
    EXPECT_EQ(read_bytes(dirs.data_dir() + file).find(token.substr(3)), std::string::npos) << file;
  }
  EXPECT_EQ(sql_text(dirs.database(), "SELECT hash FROM tokens WHERE name = 'carol'"),
            auth::token_hash(token));
}

// The CLI's token: $RADFLOW_TOKEN, else ~/.config/radflow/token, read only when
// private; without one the 401 says what to do.
TEST(Security, CliSendsItsTokenFromTheEnvironmentOrAPrivateFile) {
  DaemonFixtureDirs dirs;
  const std::string token = create_token(dirs.data_dir(), "dave", "viewer");
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  const std::string home = dirs.root() + "/home";
  std::filesystem::create_directories(home + "/.config/radflow");
  const std::string file = home + "/.config/radflow/token";
  const std::string cli = "env -u RADFLOW_TOKEN -u XDG_CONFIG_HOME HOME=" + home + " " +
                          RADFLOW_CLI_BIN + " --server http://127.0.0.1:" +
                          std::to_string(daemon.port()) + " runs 2>&1";
  Output none = shell(cli);
  EXPECT_EQ(none.exit_code, 1) << none.out;
  EXPECT_NE(none.out.find("RADFLOW_TOKEN"), std::string::npos) << none.out;
  {
    std::ofstream out(file);
    out << token << "\n";
  }
  chmod(file.c_str(), 0644);
  Output shared = shell(cli);
  EXPECT_EQ(shared.exit_code, 1) << shared.out;
  EXPECT_NE(shared.out.find("chmod 600"), std::string::npos) << shared.out;
  chmod(file.c_str(), 0600);
  Output private_file = shell(cli);
  EXPECT_EQ(private_file.exit_code, 0) << private_file.out;
  Output from_env = shell("RADFLOW_TOKEN=" + token + " " + RADFLOW_CLI_BIN +
                          " --server http://127.0.0.1:" + std::to_string(daemon.port()) +
                          " runs 2>&1");
  EXPECT_EQ(from_env.exit_code, 0) << from_env.out;
  // A viewer may read the runs but not the audit log.
  Output audit = shell("RADFLOW_TOKEN=" + token + " " + RADFLOW_CLI_BIN + " --server http://127.0.0.1:" +
                       std::to_string(daemon.port()) + " audit 2>&1");
  EXPECT_EQ(audit.exit_code, 1) << audit.out;
  EXPECT_NE(audit.out.find("needs admin"), std::string::npos) << audit.out;
}

// radflowd over HTTPS with a self-signed certificate made here; the CLI trusts it
// only with --cacert naming it.
TEST(Security, TlsWithTheCli) {
  DaemonFixtureDirs dirs;
  const std::string cert = dirs.root() + "/cert.pem", key = dirs.root() + "/key.pem";
  const std::string other = dirs.root() + "/other.pem", other_key = dirs.root() + "/other-key.pem";
  auto make_cert = [](const std::string& c, const std::string& k) {
    return shell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                 "-addext subjectAltName=IP:127.0.0.1 -keyout " + k + " -out " + c +
                 " 2>/dev/null").exit_code;
  };
  if (system("command -v openssl >/dev/null") != 0) GTEST_SKIP() << "no openssl CLI";
  ASSERT_EQ(make_cert(cert, key), 0);
  ASSERT_EQ(make_cert(other, other_key), 0);
  Daemon plain(dirs.data_dir(), dirs.plugin_dir());  // only for a free port and the plugins
  const int port = plain.port();
  plain.stop();
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string log = dirs.data_dir() + "/radflowd-tls.log";
    freopen(log.c_str(), "a", stdout);
    freopen(log.c_str(), "a", stderr);
    execl(RADFLOWD_BIN, RADFLOWD_BIN, "--data-dir", dirs.data_dir().c_str(), "--plugin-dir",
          dirs.plugin_dir().c_str(), "--listen", ("127.0.0.1:" + std::to_string(port)).c_str(),
          "--gpus", "none", "--tls-cert", cert.c_str(), "--tls-key", key.c_str(), nullptr);
    _exit(127);
  }
  const std::string cli = std::string(RADFLOW_CLI_BIN) + " --server https://127.0.0.1:" +
                          std::to_string(port);
  Output trusted;
  for (int i = 0; i < 600; ++i) {
    trusted = shell(cli + " --cacert " + cert + " plugins 2>&1");
    if (trusted.exit_code != 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(trusted.exit_code, 0) << trusted.out;
  EXPECT_NE(trusted.out.find("test-ok"), std::string::npos) << trusted.out;
  Output wrong_ca = shell(cli + " --cacert " + other + " plugins 2>&1");
  EXPECT_EQ(wrong_ca.exit_code, 3) << wrong_ca.out;
  EXPECT_NE(wrong_ca.out.find("--cacert"), std::string::npos) << wrong_ca.out;
  Output system_ca = shell(cli + " plugins 2>&1");
  EXPECT_EQ(system_ca.exit_code, 3) << system_ca.out;
  // Plain HTTP to the HTTPS port gets nowhere.
  httplib::Client http("127.0.0.1", port);
  http.set_connection_timeout(2);
  http.set_read_timeout(2);
  auto res = http.Get("/healthz");
  EXPECT_TRUE(!res || res->status != 200);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

}  // namespace
}  // namespace radflow::test
