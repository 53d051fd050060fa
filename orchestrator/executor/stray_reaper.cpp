#include "orchestrator/executor/stray_reaper.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <vector>

#include "orchestrator/executor/process.h"
#include "orchestrator/executor/process_tree.h"

namespace radflow {
namespace {

std::string command_name(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(file, name);
  return name.empty() ? "?" : name;
}

}  // namespace

bool become_subreaper() { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0; }

int reap_strays(const StrayReport& on_stray) {
  std::vector<pid_t> strays;
  with_spawned_children([&](const std::set<pid_t>& spawned) {
    for (pid_t pid : children_of(getpid())) {
      if (spawned.count(pid) == 0) strays.push_back(pid);
    }
  });
  // Only this function reaps strays, so each pid stays ours (and unreused) until the
  // waitpid below.
  int killed = 0;
  for (pid_t pid : strays) {
    const auto stat = read_proc_stat(pid);
    if (stat && stat->state != 'Z' && stat->state != 'X') {
      if (on_stray) on_stray(pid, command_name(pid));
      killed += kill_descendants(pid, std::chrono::milliseconds(2000));
      ::kill(pid, SIGKILL);
      ++killed;
    }
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  return killed;
}

StrayReaper::StrayReaper(std::chrono::milliseconds interval, StrayReport on_stray)
    : thread_([this, interval, on_stray = std::move(on_stray)] { loop(interval, on_stray); }) {}

StrayReaper::~StrayReaper() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void StrayReaper::loop(std::chrono::milliseconds interval, const StrayReport& on_stray) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, interval, [this] { return stopping_; });
    const bool last = stopping_;
    lock.unlock();
    try {
      reap_strays(on_stray);
    } catch (const std::exception&) {
      // Out of memory reading /proc: the next sweep tries again.
    }
    lock.lock();
    if (last) return;
  }
}

}  // namespace radflow
