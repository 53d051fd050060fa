// Orphans of dead workers. radflow-worker is a child subreaper and stops what its
// plugin started before it reports, but a worker that dies of a signal (a plugin's
// SIGSEGV, the OOM killer) cannot: its descendants, including those that left the
// process group with setsid(), would be re-parented to init and run on unseen.
//
// radflowd therefore becomes a child subreaper itself: those orphans are re-parented
// to radflowd. A child of radflowd that ChildProcess::spawn did not start (see
// with_spawned_children) is such an orphan; StrayReaper kills it with its own
// descendants and reaps it. radflowd must never reap with waitpid(-1) elsewhere.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace radflow {

// PR_SET_CHILD_SUBREAPER for this process. False if the kernel refused.
bool become_subreaper();

// One sweep: kills and reaps every child of this process that spawn() did not start
// (zombies are just reaped). `on_stray(pid, command name)` runs before each kill,
// for logging. Returns how many processes it killed, descendants included.
using StrayReport = std::function<void(pid_t pid, const std::string& command)>;
int reap_strays(const StrayReport& on_stray = {});

// Sweeps every `interval` on a thread of its own until destroyed (then once more).
class StrayReaper {
 public:
  StrayReaper(std::chrono::milliseconds interval, StrayReport on_stray);
  ~StrayReaper();
  StrayReaper(const StrayReaper&) = delete;
  StrayReaper& operator=(const StrayReaper&) = delete;

 private:
  void loop(std::chrono::milliseconds interval, const StrayReport& on_stray);

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace radflow
