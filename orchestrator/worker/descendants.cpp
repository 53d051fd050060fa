#include "orchestrator/worker/descendants.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "orchestrator/executor/process_tree.h"

namespace radflow {
namespace {

constexpr auto kStopTimeout = std::chrono::milliseconds(2000);

// Reaps every child that has ended; true once the worker has no children at all.
bool reap_children() {
  for (;;) {
    const pid_t pid = waitpid(-1, nullptr, WNOHANG);
    if (pid > 0) continue;
    return pid < 0 && errno == ECHILD;
  }
}

}  // namespace

bool become_child_subreaper() { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0; }

int stop_descendants() {
  // No children, no descendants: an orphaned grandchild re-parents to this
  // subreaper, so every live descendant has a live child of ours above it. The
  // common case costs one waitpid() instead of reading every process in /proc.
  if (reap_children()) return 0;
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  const int killed = kill_descendants(getpid(), kStopTimeout, [] { reap_children(); });
  // Killed processes re-parent to this subreaper as they die; wait for the last ones.
  while (!reap_children() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return killed;
}

}  // namespace radflow
