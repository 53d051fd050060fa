#include "tests/worker/worker_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <stdexcept>

namespace radflow::test {

WorkerProcess::WorkerProcess(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env) {
  int events[2], out[2];
  if (::pipe(events) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe failed");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Child. The test process has no other threads, so allocating before exec is safe.
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(events[1], 3);
    for (int fd : {events[0], events[1], out[0], out[1]}) {
      if (fd != 3 && fd != STDOUT_FILENO) ::close(fd);
    }
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    std::string bin = RADFLOW_WORKER_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(events[1]);
  ::close(out[1]);
  events_fd_ = events[0];
  stdout_fd_ = out[0];
}

WorkerProcess::~WorkerProcess() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait();
  }
  close_events();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

bool WorkerProcess::read_line(std::string* line) {
  for (;;) {
    auto nl = pending_.find('\n');
    if (nl != std::string::npos) {
      *line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return true;
    }
    if (events_fd_ < 0) return false;
    char buffer[4096];
    ssize_t n = ::read(events_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    pending_.append(buffer, static_cast<size_t>(n));
  }
}

bool WorkerProcess::read_until(const std::function<bool(const nlohmann::json&)>& match) {
  std::string line;
  while (read_line(&line)) {
    lines_.push_back(line);
    // A line that does not parse is kept as a discarded value so tests can see it.
    events_.push_back(nlohmann::json::parse(line, nullptr, false));
    if (match && match(events_.back())) return true;
  }
  return false;
}

void WorkerProcess::read_all() { read_until(nullptr); }

void WorkerProcess::close_events() {
  if (events_fd_ >= 0) ::close(events_fd_);
  events_fd_ = -1;
}

int WorkerProcess::wait() {
  if (!reaped_) {
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  return status_;
}

bool WorkerProcess::running() {
  if (reaped_) return false;
  pid_t r = ::waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) reaped_ = true;
  return r == 0;
}

void WorkerProcess::signal(int sig) { ::kill(pid_, sig); }

std::string WorkerProcess::read_stdout() {
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

nlohmann::json WorkerProcess::end_event() const {
  for (const auto& e : events_) {
    if (e.is_object() && e.value("type", "") == "end") return e;
  }
  return nullptr;
}

}  // namespace radflow::test
