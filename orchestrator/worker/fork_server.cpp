#include "orchestrator/worker/fork_server.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "orchestrator/executor/fork_protocol.h"
#include "orchestrator/executor/landlock.h"
#include "orchestrator/executor/process.h"
#include "orchestrator/worker/plugin_loader.h"

namespace radflow {
namespace {

constexpr int kEventsFd = 3;

int thread_count() {
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(tasks);
  return count;
}

std::string error_json(const std::string& code, const std::string& message) {
  return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct ForkRequest {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string working_dir;
};

Result<ForkRequest> parse_request(const std::string& text) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("argv") || !json["argv"].is_array() ||
      json["argv"].empty()) {
    return Status::error("bad_request", "a fork request needs a non-empty argv array");
  }
  ForkRequest request;
  try {
    request.argv = json["argv"].get<std::vector<std::string>>();
    request.env = json.value("env", std::vector<std::string>{});
    request.working_dir = json.value("working_dir", std::string());
  } catch (const nlohmann::json::exception& e) {
    return Status::error("bad_request", std::string("a fork request field has the wrong type: ") +
                                            e.what());
  }
  return request;
}

// In the forked worker: become what exec would have made (see the header), then
// run the worker's entry point. Never returns.
[[noreturn]] void become_worker(const ForkRequest& request, const std::vector<int>& fds,
                                pid_t server, int (*worker_entry)(int, char**)) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != server) _exit(127);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGCHLD}) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Out of 0-3's way first: a received fd may already sit on one of them.
  int moved[3];
  for (int i = 0; i < 3; ++i) moved[i] = fcntl(fds[i], F_DUPFD, 10);
  dup2(moved[0], STDOUT_FILENO);
  dup2(moved[1], STDERR_FILENO);
  dup2(moved[2], kEventsFd);
  const int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  close_fds_from(kEventsFd + 1, fd_limit());
  umask(077);
  if (!request.working_dir.empty() && chdir(request.working_dir.c_str()) != 0) {
    std::fprintf(stderr, "radflow: cannot enter the working folder %s: %s\n",
                 request.working_dir.c_str(), std::strerror(errno));
    _exit(126);
  }
  clearenv();
  for (const auto& entry : request.env) {
    const size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) continue;
    setenv(entry.substr(0, equals).c_str(), entry.substr(equals + 1).c_str(), 1);
  }
  std::vector<std::string> argv_strings = request.argv;
  std::vector<char*> argv;
  for (auto& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int code = worker_entry(static_cast<int>(argv_strings.size()), argv.data());
  // No static destructors or atexit handlers of the server's image: flush what a
  // returning main() would have flushed, then leave.
  std::cout.flush();
  std::cerr.flush();
  spdlog::shutdown();
  std::fflush(nullptr);
  _exit(code);
}

void report_exit(int exit_fd, int status) {
  ForkExit record;
  if (WIFSIGNALED(status)) {
    record.signal = WTERMSIG(status);
  } else if (WIFEXITED(status)) {
    record.exit_code = WEXITSTATUS(status);
  }
  ssize_t written;
  do {
    written = write(exit_fd, &record, sizeof(record));
  } while (written < 0 && errno == EINTR);
  close(exit_fd);
}

}  // namespace

int run_fork_server(const std::string& plugin_path, const std::string& plugin_dir, int socket_fd,
                    int (*worker_entry)(int, char**)) {
  // SIGCHLD arrives through a signalfd, so the loop below is one poll().
  sigset_t child_signal;
  sigemptyset(&child_signal);
  sigaddset(&child_signal, SIGCHLD);
  sigprocmask(SIG_BLOCK, &child_signal, nullptr);
  signal(SIGPIPE, SIG_IGN);
  const int signal_fd = signalfd(-1, &child_signal, SFD_CLOEXEC);
  if (signal_fd < 0) {
    (void)send_fork_message(socket_fd, error_json("io_error", std::string("signalfd: ") +
                                                                  std::strerror(errno)));
    return 1;
  }
  fcntl(socket_fd, F_SETFD, FD_CLOEXEC);

  Result<LoadedPlugin> loaded = load_plugin(plugin_path, plugin_dir, "");
  if (!loaded.ok()) {
    (void)send_fork_message(socket_fd, error_json(loaded.status().code(), loaded.status().message()));
    return 1;
  }
  warm_system_confinement();
  if (const int threads = thread_count(); threads != 1) {
    (void)send_fork_message(
        socket_fd, error_json("threads_at_load",
                              plugin_path + " has " + std::to_string(threads) +
                                  " threads after loading, and forking a multi-threaded "
                                  "process is unsafe"));
    return 0;
  }
  if (!send_fork_message(socket_fd, R"({"ready":true})").ok()) return 1;

  const pid_t self = getpid();
  std::map<pid_t, int> exit_fds;  // live workers and where their exit goes
  bool accepting = true;
  while (accepting || !exit_fds.empty()) {
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {accepting ? socket_fd : -1, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("fork server: poll: {}", std::strerror(errno));
      return 1;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      (void)!read(signal_fd, &info, sizeof(info));
      int status = 0;
      for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;) {
        auto found = exit_fds.find(pid);
        if (found == exit_fds.end()) continue;
        report_exit(found->second, status);
        exit_fds.erase(found);
      }
    }
    if (fds[1].revents == 0) continue;
    Result<ForkMessage> message = receive_fork_message(socket_fd);
    if (!message.ok()) {
      // The daemon hung up (or the socket broke): finish the workers, take no more.
      accepting = false;
      continue;
    }
    Result<ForkRequest> request = parse_request(message->json);
    if (request.ok() && message->fds.size() != kMaxForkFds) {
      request = Status::error("bad_request", "a fork request carries 4 fds, not " +
                                                 std::to_string(message->fds.size()));
    }
    if (!request.ok()) {
      for (int fd : message->fds) close(fd);
      (void)send_fork_message(socket_fd,
                              error_json(request.status().code(), request.status().message()));
      continue;
    }
    const pid_t pid = fork();
    if (pid == 0) {
      close(signal_fd);
      close(socket_fd);
      close(message->fds[3]);
      become_worker(*request, message->fds, self, worker_entry);
    }
    for (int i = 0; i < 3; ++i) close(message->fds[i]);
    if (pid < 0) {
      close(message->fds[3]);
      (void)send_fork_message(socket_fd,
                              error_json("spawn_failed", std::string("fork: ") + std::strerror(errno)));
      continue;
    }
    // Here too, so the daemon can signal the group as soon as it has the pid.
    setpgid(pid, pid);
    exit_fds[pid] = message->fds[3];
    (void)send_fork_message(socket_fd, nlohmann::json{{"pid", pid}}.dump());
  }
  return 0;
}

}  // namespace radflow
