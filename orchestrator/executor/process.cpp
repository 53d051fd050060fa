#include "orchestrator/executor/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>

#include "orchestrator/executor/child_env.h"
#include "orchestrator/executor/fork_protocol.h"
#include "orchestrator/executor/process_tree.h"

extern char** environ;

namespace radflow {
namespace {

constexpr int kEventsFd = 3;

// Moves `fd` to `target` in the child, clearing close-on-exec.
void install_fd(int fd, int target) {
  if (fd == target) {
    fcntl(fd, F_SETFD, 0);
  } else {
    dup2(fd, target);
  }
}

// Children forked by spawn() and not yet reaped. The mutex is held across fork(), so
// no one can see a new child before it is listed (stray_reaper.h relies on it).
std::mutex& children_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::set<pid_t>& spawned_children() {
  static std::set<pid_t> children;
  return children;
}

void forget_child(pid_t pid) {
  std::lock_guard<std::mutex> lock(children_mutex());
  spawned_children().erase(pid);
}

}  // namespace

int fd_limit() {
  // Ceiling for the close() loop when close_range is missing: an fd limit of
  // "unlimited" must not mean a billion system calls.
  constexpr int kMaxFdsToClose = 1 << 20;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY ||
      limit.rlim_cur > static_cast<rlim_t>(kMaxFdsToClose)) {
    return kMaxFdsToClose;
  }
  return static_cast<int>(limit.rlim_cur);
}

void close_fds_from(int first, int limit) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0U) == 0) return;
#endif
  for (int fd = first; fd < limit; ++fd) close(fd);
}

void with_spawned_children(const std::function<void(const std::set<pid_t>&)>& fn) {
  std::lock_guard<std::mutex> lock(children_mutex());
  fn(spawned_children());
}

Result<ChildProcess> ChildProcess::spawn(const ProcessSpec& spec) {
  RF_CHECK(!spec.argv.empty(), "spawn without argv");
  // Everything the child needs is prepared before fork: after fork only
  // async-signal-safe calls are allowed (the daemon is multi-threaded).
  std::vector<std::string> env_strings =
      child_environment(environ, spec.env_set, spec.env_passthrough);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out_pipe[2], err_pipe[2], events_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Status::error("spawn_failed", std::strerror(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]), close(out_pipe[1]);
    return Status::error("spawn_failed", std::strerror(errno));
  }
  if (spec.fd3 >= 0) {
    events_pipe[1] = spec.fd3;
  } else if (pipe2(events_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]), close(out_pipe[1]), close(err_pipe[0]), close(err_pipe[1]);
    return Status::error("spawn_failed", std::strerror(errno));
  }
  const int max_fd = fd_limit();
  pid_t parent = getpid();
  std::unique_lock<std::mutex> listing(children_mutex());
  pid_t pid = fork();
  if (pid > 0) spawned_children().insert(pid);
  if (pid != 0) listing.unlock();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], events_pipe[0]}) close(fd);
    if (spec.fd3 < 0) close(events_pipe[1]);
    return Status::error("spawn_failed", std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    setpgid(0, 0);
    // The worker must not outlive the daemon: nothing could record its results.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    // Restore default signal handling the daemon may have changed.
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Move the events pipe first: it targets fd 3, which may be one of the others.
    int events_write = fcntl(events_pipe[1], F_DUPFD_CLOEXEC, 10);
    int out_write = fcntl(out_pipe[1], F_DUPFD_CLOEXEC, 10);
    int err_write = fcntl(err_pipe[1], F_DUPFD_CLOEXEC, 10);
    install_fd(out_write, STDOUT_FILENO);
    install_fd(err_write, STDERR_FILENO);
    install_fd(events_write, kEventsFd);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    // Only 0-3 survive exec, whatever other daemon threads opened without CLOEXEC.
    close_fds_from(kEventsFd + 1, max_fd);
    umask(077);
    if (!spec.working_dir.empty() && chdir(spec.working_dir.c_str()) != 0) {
      const char msg[] = "radflow: cannot enter the working folder\n";
      (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
      _exit(126);
    }
    execve(argv[0], argv.data(), envp.data());
    const char msg[] = "radflow: cannot execute the worker\n";
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(127);
  }
  // Parent: also set the group here so signal_group works before the child runs.
  setpgid(pid, pid);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (spec.fd3 < 0) close(events_pipe[1]);
  ChildProcess child;
  child.pid_ = pid;
  child.stdout_fd_ = out_pipe[0];
  child.stderr_fd_ = err_pipe[0];
  child.events_fd_ = events_pipe[0];
  return child;
}

ChildProcess ChildProcess::forked_by_server(pid_t pid, int stdout_fd, int stderr_fd,
                                            int events_fd, int exit_fd) {
  ChildProcess child;
  child.pid_ = pid;
  child.stdout_fd_ = stdout_fd;
  child.stderr_fd_ = stderr_fd;
  child.events_fd_ = events_fd;
  child.exit_fd_ = exit_fd;
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept { *this = std::move(other); }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    release();
    pid_ = other.pid_;
    stdout_fd_ = other.stdout_fd_;
    stderr_fd_ = other.stderr_fd_;
    events_fd_ = other.events_fd_;
    exit_fd_ = other.exit_fd_;
    exit_ = other.exit_;
    other.pid_ = -1;
    other.stdout_fd_ = other.stderr_fd_ = other.events_fd_ = other.exit_fd_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() { release(); }

void ChildProcess::release() {
  for (int* fd : {&stdout_fd_, &stderr_fd_, &events_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  if (pid_ > 0 && !exit_) {
    kill_descendants(pid_, std::chrono::milliseconds(2000));
    signal_group(SIGKILL);
    if (exit_fd_ >= 0) {
      ForkExit record;  // the server reaps it and reports, or hangs up dying
      while (read(exit_fd_, &record, sizeof(record)) < 0 && errno == EINTR) {
      }
    } else {
      int status = 0;
      waitpid(pid_, &status, 0);
      forget_child(pid_);
    }
  }
  if (exit_fd_ >= 0) close(exit_fd_);
  exit_fd_ = -1;
  pid_ = -1;
}

void ChildProcess::close_fd(int fd) {
  for (int* own : {&stdout_fd_, &stderr_fd_, &events_fd_}) {
    if (*own == fd && fd >= 0) {
      close(fd);
      *own = -1;
    }
  }
}

void ChildProcess::signal_group(int signal) const {
  if (pid_ > 0) kill(-pid_, signal);
}

std::optional<ExitInfo> ChildProcess::try_wait() {
  if (exit_ || pid_ <= 0) return exit_;
  if (exit_fd_ >= 0) {
    pollfd ready{exit_fd_, POLLIN, 0};
    if (poll(&ready, 1, 0) <= 0) return std::nullopt;
    ForkExit record;
    ssize_t n;
    do {
      n = read(exit_fd_, &record, sizeof(record));
    } while (n < 0 && errno == EINTR);
    ExitInfo info;
    if (n == static_cast<ssize_t>(sizeof(record))) {
      info.exit_code = record.exit_code;
      info.signal = record.signal;
    } else {
      info.signal = SIGKILL;  // the server died, and its workers with it (PDEATHSIG)
    }
    close(exit_fd_);
    exit_fd_ = -1;
    exit_ = info;
    return exit_;
  }
  int status = 0;
  pid_t done = waitpid(pid_, &status, WNOHANG);
  if (done != pid_) return std::nullopt;
  forget_child(pid_);
  ExitInfo info;
  if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
  } else if (WIFEXITED(status)) {
    info.exit_code = WEXITSTATUS(status);
  }
  exit_ = info;
  return exit_;
}

int ChildProcess::open_exit_notifier() const {
  if (pid_ <= 0) return -1;
  if (exit_fd_ >= 0) return fcntl(exit_fd_, F_DUPFD_CLOEXEC, 0);
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
#else
  return -1;
#endif
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGINT: return "SIGINT";
    case SIGPIPE: return "SIGPIPE";
    case SIGXFSZ: return "SIGXFSZ (file size limit exceeded: RLIMIT_FSIZE, or the disk's)";
    case SIGXCPU: return "SIGXCPU (CPU time limit exceeded)";
    default: return "signal " + std::to_string(signal);
  }
}

Result<int> find_free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error("no_port", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = std::strerror(errno);
    close(fd);
    return Status::error("no_port", "cannot find a free loopback port: " + why);
  }
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

}  // namespace radflow

#include <poll.h>

#include <chrono>

namespace radflow {

Result<CapturedRun> run_captured(const ProcessSpec& spec, double timeout_s) {
  RF_ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::spawn(spec));
  child.close_fd(child.events_fd());
  CapturedRun result;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  char buffer[1 << 16];
  while (child.stdout_fd() >= 0 || child.stderr_fd() >= 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      child.signal_group(SIGKILL);
      return Status::error("timeout", spec.argv[0] + " did not finish within " +
                                          std::to_string(static_cast<int>(timeout_s)) + " s");
    }
    pollfd fds[2];
    int count = 0;
    for (int fd : {child.stdout_fd(), child.stderr_fd()}) {
      if (fd >= 0) fds[count++] = {fd, POLLIN, 0};
    }
    poll(fds, count, 100);
    for (int i = 0; i < count; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        (fds[i].fd == child.stdout_fd() ? result.out : result.err).append(buffer, n);
      } else if (n == 0 || errno != EINTR) {
        child.close_fd(fds[i].fd);
      }
    }
  }
  while (!child.try_wait()) {
    if (std::chrono::steady_clock::now() > deadline) child.signal_group(SIGKILL);
    usleep(5000);
  }
  result.exit = *child.exit_info();
  return result;
}

}  // namespace radflow
