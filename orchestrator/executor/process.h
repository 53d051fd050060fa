// Child processes for step attempts: fork/exec with stdout, stderr and an events
// pipe, in a process group of their own so a whole attempt (the worker and anything
// it started) is signalled at once.
//
// Hygiene: the child keeps only fds 0-3 (close_range, or a loop up to the fd limit,
// after fork), gets the allowlisted environment of child_env.h plus env_set, runs
// with umask 077 and, when working_dir is set, in that folder.
//
// ChildProcess owns the read ends of the child's pipes and reaps the child. Not
// thread-safe: one monitor thread drives it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace radflow {

struct ProcessSpec {
  std::vector<std::string> argv;               // argv[0] is the executable path
  std::map<std::string, std::string> env_set;  // set in the child whatever their names
  // Daemon variables passed on beyond the allowlist of child_env.h.
  std::vector<std::string> env_passthrough;
  std::string working_dir;                     // empty = inherit; spawn fails if it is missing
  // When set, the child gets this fd as fd 3 instead of an events pipe (events_fd()
  // is then -1); the caller keeps its own copy. A fork server's socket.
  int fd3 = -1;
};

// How a child ended, from waitpid.
struct ExitInfo {
  int exit_code = -1;  // valid when signal == 0
  int signal = 0;      // the signal that killed it, or 0
};

class ChildProcess {
 public:
  // Starts the child. fd 1 and 2 go to pipes read by stdout_fd()/stderr_fd(), and
  // fd 3 is the write end of the events pipe read by events_fd(); fd 0 is
  // /dev/null. The child gets its own process group and is killed if the daemon
  // dies.
  static Result<ChildProcess> spawn(const ProcessSpec& spec);
  // A worker a fork server forked (fork_servers.h): not our child, so its end comes
  // as a ForkExit record on `exit_fd` (fork_protocol.h) instead of from waitpid.
  // Takes ownership of the fds.
  static ChildProcess forked_by_server(pid_t pid, int stdout_fd, int stderr_fd, int events_fd,
                                       int exit_fd);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Closes the pipes; if the child still runs, kills its descendants
  // (process_tree.h) and its group, and reaps it.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  int stdout_fd() const { return stdout_fd_; }
  int stderr_fd() const { return stderr_fd_; }
  int events_fd() const { return events_fd_; }
  // Marks a pipe as drained (EOF seen) and closes it; the getter then returns -1.
  void close_fd(int fd);

  // Sends `signal` to the child's whole process group.
  void signal_group(int signal) const;
  // Non-blocking reap; returns the exit once the child has ended.
  std::optional<ExitInfo> try_wait();
  // A new fd that turns readable when try_wait() can return the exit, for poll():
  // a pidfd, or a copy of a server-forked worker's exit fd. The caller closes it.
  // -1 where the kernel has no pidfd_open (before 5.3): poll try_wait() instead.
  int open_exit_notifier() const;
  std::optional<ExitInfo> exit_info() const { return exit_; }

 private:
  ChildProcess() = default;
  void release();

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  int events_fd_ = -1;
  int exit_fd_ = -1;  // server-forked workers only
  std::optional<ExitInfo> exit_;
};

// Calls fn with the pids of every child spawn() started and nobody has reaped yet;
// no child is forked while fn runs (stray_reaper.h tells these from orphans).
void with_spawned_children(const std::function<void(const std::set<pid_t>&)>& fn);

// The highest fd number a child could hold; read it before fork.
int fd_limit();
// Closes every fd from `first` up (close_range, else a loop up to `limit`).
// Async-signal-safe: for the child between fork and exec, or a forked worker.
void close_fds_from(int first, int limit);

// Name of a signal for messages ("SIGSEGV"); "signal N" for unknown ones.
std::string signal_name(int signal);

// A TCP port on 127.0.0.1 that was free a moment ago (for MASTER_PORT).
Result<int> find_free_loopback_port();

}  // namespace radflow

namespace radflow {

// What a short-lived command printed, for `radflow-worker --describe`.
struct CapturedRun {
  ExitInfo exit;
  std::string out;
  std::string err;
};

// Runs a command to completion, capturing stdout and stderr; kills its group and
// fails with code "timeout" after timeout_s.
Result<CapturedRun> run_captured(const ProcessSpec& spec, double timeout_s);

}  // namespace radflow
