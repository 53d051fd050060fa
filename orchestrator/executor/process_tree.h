// The /proc view of a process tree, used to stop everything a plugin started: the
// executor kills each worker's descendants when an attempt ends or is stopped, and
// radflow-worker (a child subreaper, so orphans stay in its tree) kills its own
// before it reports the end of an attempt. A descendant that called setsid() has
// left its process group, so signalling the group alone does not reach it.
//
// Linux only. Every answer is a snapshot: processes start and end while /proc is
// read, so kill_descendants() rescans until a scan finds nothing left. Pure
// functions over /proc; safe to call from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace radflow {

// The fields of /proc/PID/stat the executor needs.
struct ProcStat {
  char state = '?';          // R, S, D, Z (zombie), ...
  pid_t ppid = 0;
  uint64_t start_ticks = 0;  // clock ticks after boot
};

// nullopt when the process does not exist (or /proc cannot be read).
std::optional<ProcStat> read_proc_stat(pid_t pid);

// Every descendant of `root` that has not exited (zombies are left out), not root
// itself. Empty when root has none or does not exist.
std::vector<pid_t> live_descendants(pid_t root);

// Every child of `parent`, zombies included (they are the parent's to reap).
std::vector<pid_t> children_of(pid_t parent);

// SIGKILLs the live descendants of `root`, scanning again after each round (a
// process killed mid-fork may leave children behind, and under a subreaper they
// reparent to it) until a scan finds none or `timeout` has passed. `after_round`,
// when set, runs after each round: radflow-worker reaps its children there. Never
// signals root. Returns how many processes were signalled in total.
int kill_descendants(pid_t root, std::chrono::milliseconds timeout,
                     const std::function<void()>& after_round = {});

}  // namespace radflow
