// DaemonFixture: a real radflowd for end-to-end tests — its own temp data folder,
// a plugin folder holding copies of the example and test plugins, a free loopback
// port, and an HTTP client. The daemon is stopped with SIGTERM (SIGKILL if it
// hangs) and the folder removed when the test ends.
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace radflow::test {

class Daemon {
 public:
  // Starts radflowd on `data_dir` (created if needed) with `plugin_dir`, on `port`
  // (0: a free one; a restart may reuse its predecessor's port()).
  Daemon(const std::string& data_dir, const std::string& plugin_dir,
         const std::vector<std::string>& extra_args = {}, int port = 0);
  ~Daemon();

  bool running();
  void kill_hard();  // SIGKILL, as a crash would
  void stop();       // SIGTERM and wait
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  httplib::Client& http() { return *client_; }

  nlohmann::json get(const std::string& path);
  // POST; returns {status, body}.
  std::pair<int, nlohmann::json> post(const std::string& path, const std::string& body);
  // Polls the run until it is succeeded, failed or cancelled (or the timeout).
  nlohmann::json wait_for_run(int64_t run_id, std::chrono::seconds timeout);
  // The named step of a run JSON.
  static nlohmann::json step_of(const nlohmann::json& run, const std::string& name);

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

// POSTs the workflow to /api/v1/runs and returns the run id; a reply other than 201
// fails the test (and gives 0).
int64_t submit(Daemon& daemon, const nlohmann::json& workflow);
int64_t submit_text(Daemon& daemon, const std::string& workflow_text);

// A temp folder with data/ and plugins/ (copies of every built plugin).
class DaemonFixtureDirs {
 public:
  DaemonFixtureDirs();
  ~DaemonFixtureDirs();
  const std::string& root() const { return root_; }
  std::string data_dir() const { return root_ + "/data"; }
  std::string plugin_dir() const { return root_ + "/plugins"; }
  std::string database() const { return data_dir() + "/radflow.db"; }

 private:
  std::string root_;
};

// Runs one SQL query returning a single integer against the daemon's database.
int64_t sql_count(const std::string& database, const std::string& query);
// Runs one SQL query returning a single text value.
std::string sql_text(const std::string& database, const std::string& query);

}  // namespace radflow::test
