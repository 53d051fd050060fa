#include "orchestrator/executor/fork_servers.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "orchestrator/executor/child_env.h"
#include "orchestrator/executor/fork_protocol.h"

extern char** environ;

namespace radflow {
namespace {

// Loading LibTorch takes seconds on a busy machine; a server that has not said
// ready by then is treated as unavailable.
constexpr int kReadyTimeoutMs = 60'000;

// A library file as it is now: a replaced file differs in one of these.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity& o) const {
    return device == o.device && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns;
  }
};

std::optional<FileIdentity> identity_of(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileIdentity{info.st_dev, info.st_ino, info.st_size,
                      static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 +
                          info.st_mtim.tv_nsec};
}

// One server. `mutex` is held while it starts (loading LibTorch takes seconds) and
// for each request and its reply; only its holder touches `process` and `socket`.
// The pool's lock is never held while waiting for a server, so one library's slow
// start does not hold up the ranks of another.
struct Server {
  explicit Server(FileIdentity id) : identity(id) {}
  ~Server() {
    if (socket >= 0) close(socket);
  }
  const FileIdentity identity;
  std::mutex mutex;
  bool tried = false;                   // start() ran (it may have failed)
  std::optional<ChildProcess> process;  // set once started
  int socket = -1;                      // -1 before start, after a failure, once retired
};

struct Pool {
  std::mutex mutex;
  std::atomic<bool> enabled{false};
  // Keyed by worker path and plugin path.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Server>> servers;
  // Libraries whose server refused (threads at load, failed twice): exec from now on,
  // until the file changes.
  std::map<std::pair<std::string, std::string>, FileIdentity> refused;
  // Servers no longer given requests: hung up on as soon as nobody uses them, then
  // kept until they exit (after their last worker).
  std::vector<std::shared_ptr<Server>> retired;
  std::atomic<int64_t> forked{0};
  std::atomic<int64_t> execed{0};
};

Pool& pool() {
  static Pool* instance = new Pool();  // never destroyed: workers may outlive main's statics
  return *instance;
}

// Hangs up on retired servers nobody is using (`wait`: also on those in use, once
// they are free) and forgets those that exited. Caller holds the pool's lock.
void reap_retired(Pool& p, bool wait) {
  std::vector<std::shared_ptr<Server>> still;
  for (auto& server : p.retired) {
    std::unique_lock<std::mutex> lock(server->mutex, std::defer_lock);
    if (wait) {
      lock.lock();
    } else if (!lock.try_lock()) {
      still.push_back(std::move(server));
      continue;
    }
    if (server->socket >= 0) close(server->socket);
    server->socket = -1;
    if (server->process && !server->process->try_wait()) still.push_back(std::move(server));
  }
  p.retired = std::move(still);
}

// Starts the server process and waits for its hello. Caller holds server.mutex.
Status start(Server& server, const std::string& worker_path, const std::string& plugin_path,
             const std::string& plugin_dir, const std::vector<std::string>& env_passthrough) {
  server.tried = true;
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return Status::error("spawn_failed", std::string("socketpair: ") + std::strerror(errno));
  }
  ProcessSpec spec;
  spec.argv = {worker_path, "--fork-server", plugin_path, "--plugin-dir", plugin_dir};
  spec.env_passthrough = env_passthrough;
  spec.fd3 = pair[1];
  auto process = ChildProcess::spawn(spec);
  close(pair[1]);
  if (!process.ok()) {
    close(pair[0]);
    return process.status();
  }
  server.process.emplace(std::move(process).value());
  // The server's own output is a few log lines at most; nobody reads it, and a
  // closed pipe makes its writes fail instead of block.
  server.process->close_fd(server.process->stdout_fd());
  server.process->close_fd(server.process->stderr_fd());
  const int socket = pair[0];
  pollfd ready{socket, POLLIN, 0};
  if (poll(&ready, 1, kReadyTimeoutMs) <= 0) {
    close(socket);
    return Status::error("fork_server_unavailable",
                         "the fork server for " + plugin_path + " did not start in time");
  }
  auto hello = receive_fork_message(socket);
  if (!hello.ok()) {
    close(socket);
    return Status::error("fork_server_unavailable", "the fork server for " + plugin_path +
                                                        " ended before it was ready");
  }
  for (int fd : hello->fds) close(fd);
  auto json = nlohmann::json::parse(hello->json, nullptr, false);
  if (!json.is_object() || !json.value("ready", false)) {
    close(socket);
    std::string message = "the fork server for " + plugin_path + " refused";
    if (json.is_object() && json.contains("error") && json["error"].is_object()) {
      message += ": " + json["error"].value("message", std::string());
    }
    return Status::error("fork_server_unavailable", message);
  }
  server.socket = socket;
  return Status();
}

// Sends one request; the reply's pid, or why not. Caller holds server.mutex.
Result<pid_t> request_fork(Server& server, const ProcessSpec& spec, const std::vector<int>& fds) {
  nlohmann::json request;
  request["argv"] = spec.argv;
  request["env"] = child_environment(environ, spec.env_set, spec.env_passthrough);
  request["working_dir"] = spec.working_dir;
  if (server.socket < 0) return Status::error("closed", "the fork server was retired");
  RF_RETURN_IF_ERROR(send_fork_message(
      server.socket, request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), fds));
  RF_ASSIGN_OR_RETURN(ForkMessage reply, receive_fork_message(server.socket));
  for (int fd : reply.fds) close(fd);
  auto json = nlohmann::json::parse(reply.json, nullptr, false);
  if (json.is_object() && json.contains("pid") && json["pid"].is_number_integer()) {
    return static_cast<pid_t>(json["pid"].get<int64_t>());
  }
  std::string message = "the fork server answered: " + reply.json;
  if (json.is_object() && json.contains("error") && json["error"].is_object()) {
    message = json["error"].value("message", message);
  }
  return Status::error("spawn_failed", message);
}

// One rank through `server`: the pipes are made here, their write ends go to the
// server, which hands them to the worker it forks. Caller holds server.mutex.
Result<ChildProcess> fork_through(Server& server, const ProcessSpec& spec) {
  int pipes[4][2];
  int made = 0;
  for (; made < 4; ++made) {
    if (pipe2(pipes[made], O_CLOEXEC) != 0) break;
  }
  auto close_all = [&](bool read_ends) {
    for (int i = 0; i < made; ++i) {
      close(pipes[i][1]);
      if (read_ends) close(pipes[i][0]);
    }
  };
  if (made < 4) {
    const std::string why = std::strerror(errno);
    close_all(true);
    return Status::error("spawn_failed", "pipe: " + why);
  }
  auto pid = request_fork(server, spec, {pipes[0][1], pipes[1][1], pipes[2][1], pipes[3][1]});
  close_all(/*read_ends=*/!pid.ok());
  if (!pid.ok()) return pid.status();
  return ChildProcess::forked_by_server(*pid, pipes[0][0], pipes[1][0], pipes[2][0], pipes[3][0]);
}

using Key = std::pair<std::string, std::string>;  // worker path, plugin path

// The server entry for this library as it is on disk now, made (not started) if
// needed; nullptr where exec must be used.
std::shared_ptr<Server> server_for(const Key& key) {
  Pool& p = pool();
  const auto identity = identity_of(key.second);
  if (!identity) return nullptr;
  std::lock_guard<std::mutex> lock(p.mutex);
  reap_retired(p, /*wait=*/false);
  if (auto refused = p.refused.find(key); refused != p.refused.end()) {
    if (refused->second == *identity) return nullptr;
    p.refused.erase(refused);
  }
  auto& slot = p.servers[key];
  if (slot && slot->identity == *identity) return slot;
  if (slot) p.retired.push_back(std::move(slot));
  slot = std::make_shared<Server>(*identity);
  return slot;
}

// Stops giving requests to `server`; `refuse`: and use exec for its library until
// the file changes.
void drop_server(const Key& key, const std::shared_ptr<Server>& server, bool refuse) {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (refuse) p.refused[key] = server->identity;
  auto found = p.servers.find(key);
  if (found != p.servers.end() && found->second == server) {
    p.retired.push_back(std::move(found->second));
    p.servers.erase(found);
  }
}

}  // namespace

void set_fork_servers_enabled(bool enabled) { pool().enabled = enabled; }
bool fork_servers_enabled() { return pool().enabled; }

Result<ChildProcess> spawn_worker(const ProcessSpec& spec, const std::string& plugin_path,
                                  const std::string& plugin_dir) {
  Pool& p = pool();
  if (!p.enabled || spec.argv.empty() || spec.fd3 >= 0) return ChildProcess::spawn(spec);
  const Key key{spec.argv[0], plugin_path};
  // A server that fails a request is replaced once; after a second failure its
  // library is started with exec.
  for (int tries = 0; tries < 2; ++tries) {
    std::shared_ptr<Server> server = server_for(key);
    if (!server) break;
    std::unique_lock<std::mutex> lock(server->mutex);
    if (!server->tried) {
      Status started = start(*server, spec.argv[0], plugin_path, plugin_dir, spec.env_passthrough);
      if (!started.ok()) {
        lock.unlock();
        spdlog::info("{}; its workers start with exec", started.message());
        drop_server(key, server, /*refuse=*/true);
        break;
      }
      spdlog::debug("fork server started for {}", plugin_path);
    }
    auto child = fork_through(*server, spec);
    lock.unlock();
    if (child.ok()) {
      ++p.forked;
      return child;
    }
    spdlog::warn("fork server for {}: {}; starting a new one", plugin_path,
                 child.status().message());
    drop_server(key, server, /*refuse=*/tries == 1);
  }
  ++p.execed;
  return ChildProcess::spawn(spec);
}

void stop_fork_servers() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (auto& [key, server] : p.servers) p.retired.push_back(std::move(server));
  p.servers.clear();
  p.refused.clear();
  reap_retired(p, /*wait=*/true);
}

ForkServerStats fork_server_stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return {static_cast<int>(p.servers.size()), p.forked.load(), p.execed.load()};
}

}  // namespace radflow
