#include "tests/e2e/daemon_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

namespace radflow::test {
namespace fs = std::filesystem;

namespace {

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool is_finished(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

}  // namespace

Daemon::Daemon(const std::string& data_dir, const std::string& plugin_dir,
               const std::vector<std::string>& extra_args, int port) {
  fs::create_directories(data_dir);
  port_ = port != 0 ? port : free_port();
  std::vector<std::string> args = {RADFLOWD_BIN, "--data-dir", data_dir, "--plugin-dir",
                                   plugin_dir, "--listen", "127.0.0.1:" + std::to_string(port_),
                                   "--grace-s", "1", "--gpus", "none"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  const std::string log_path = data_dir + "/radflowd.log";
  pid_ = fork();
  if (pid_ == 0) {
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, 1);
    dup2(log, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
  client_->set_read_timeout(30);
  // Up to 60 s: the first start runs `radflow-worker --describe` on every plugin.
  for (int i = 0; i < 1200; ++i) {
    if (auto res = client_->Get("/healthz"); res && res->status == 200) return;
    if (!running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("radflowd did not come up; see " + log_path);
}

Daemon::~Daemon() { stop(); }

bool Daemon::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void Daemon::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void Daemon::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 300; ++i) {
    if (!running()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill_hard();
}

nlohmann::json Daemon::get(const std::string& path) {
  auto res = client_->Get(path.c_str());
  if (!res) throw std::runtime_error("GET " + path + " failed: " + httplib::to_string(res.error()));
  return nlohmann::json::parse(res->body);
}

std::pair<int, nlohmann::json> Daemon::post(const std::string& path, const std::string& body) {
  auto res = client_->Post(path.c_str(), body, "application/json");
  if (!res) throw std::runtime_error("POST " + path + " failed: " + httplib::to_string(res.error()));
  return {res->status, nlohmann::json::parse(res->body, nullptr, false)};
}

int64_t submit_text(Daemon& daemon, const std::string& workflow_text) {
  auto [status, body] = daemon.post("/api/v1/runs", workflow_text);
  EXPECT_EQ(status, 201) << body.dump();
  return body.value("id", int64_t{0});
}

int64_t submit(Daemon& daemon, const nlohmann::json& workflow) { return submit_text(daemon, workflow.dump()); }

nlohmann::json Daemon::wait_for_run(int64_t run_id, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json run;
  while (std::chrono::steady_clock::now() < deadline) {
    run = get("/api/v1/runs/" + std::to_string(run_id));
    if (is_finished(run.value("status", ""))) return run;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return run;
}

nlohmann::json Daemon::step_of(const nlohmann::json& run, const std::string& name) {
  for (const auto& step : run["steps"]) {
    if (step["name"] == name) return step;
  }
  return nullptr;
}

DaemonFixtureDirs::DaemonFixtureDirs() {
  char pattern[] = "/tmp/radflow-e2e-XXXXXX";
  root_ = mkdtemp(pattern);
  fs::create_directories(plugin_dir());
  for (const char* dir : {RADFLOW_TEST_PLUGIN_DIR, RADFLOW_EXAMPLE_PLUGIN_DIR}) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".so") {
        fs::copy_file(entry.path(), fs::path(plugin_dir()) / entry.path().filename());
      }
    }
  }
}

DaemonFixtureDirs::~DaemonFixtureDirs() {
  // RADFLOW_TEST_KEEP=1 keeps the folders of a failing test for a look afterwards.
  if (const char* keep = std::getenv("RADFLOW_TEST_KEEP"); keep && *keep && *keep != '0') {
    std::fprintf(stderr, "kept %s (RADFLOW_TEST_KEEP)\n", root_.c_str());
    return;
  }
  std::error_code ec;
  fs::remove_all(root_, ec);
}

std::string sql_text(const std::string& database, const std::string& query) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  std::string value = "<no row>";
  if (sqlite3_prepare_v2(db, query.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    value = text ? reinterpret_cast<const char*>(text) : "";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

int64_t sql_count(const std::string& database, const std::string& query) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + database);
  }
  sqlite3_stmt* stmt = nullptr;
  int64_t value = -1;
  if (sqlite3_prepare_v2(db, query.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    value = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (value < 0) throw std::runtime_error("query failed: " + query);
  return value;
}

}  // namespace radflow::test
