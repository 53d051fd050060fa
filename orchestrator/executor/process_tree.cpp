#include "orchestrator/executor/process_tree.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace radflow {
namespace {

// Calls fn(pid, stat) for every process /proc lists.
void for_each_process(const std::function<void(pid_t, const ProcStat&)>& fn) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    if (auto stat = read_proc_stat(static_cast<pid_t>(pid))) fn(static_cast<pid_t>(pid), *stat);
  }
  closedir(proc);
}

// parent pid -> pid of every process that has not exited.
std::multimap<pid_t, pid_t> live_children_by_parent() {
  std::multimap<pid_t, pid_t> children;
  for_each_process([&](pid_t pid, const ProcStat& stat) {
    if (stat.state != 'Z' && stat.state != 'X') children.emplace(stat.ppid, pid);
  });
  return children;
}

}  // namespace

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(file, text)) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  ProcStat stat;
  std::string field;
  for (int index = 3; fields >> field; ++index) {
    if (index == 3) stat.state = field.empty() ? '?' : field[0];
    if (index == 4) stat.ppid = static_cast<pid_t>(std::strtol(field.c_str(), nullptr, 10));
    if (index == 22) {
      stat.start_ticks = std::strtoull(field.c_str(), nullptr, 10);
      return stat;
    }
  }
  return std::nullopt;
}

std::vector<pid_t> live_descendants(pid_t root) {
  const auto children = live_children_by_parent();
  std::vector<pid_t> found;
  std::vector<pid_t> frontier = {root};
  std::set<pid_t> seen = {root};
  while (!frontier.empty()) {
    const pid_t parent = frontier.back();
    frontier.pop_back();
    auto [begin, end] = children.equal_range(parent);
    for (auto it = begin; it != end; ++it) {
      if (!seen.insert(it->second).second) continue;
      found.push_back(it->second);
      frontier.push_back(it->second);
    }
  }
  return found;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  for_each_process([&](pid_t pid, const ProcStat& stat) {
    if (stat.ppid == parent) children.push_back(pid);
  });
  return children;
}

int kill_descendants(pid_t root, std::chrono::milliseconds timeout,
                     const std::function<void()>& after_round) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::set<pid_t> signalled;
  for (;;) {
    const std::vector<pid_t> alive = live_descendants(root);
    if (alive.empty() || std::chrono::steady_clock::now() >= deadline) {
      return static_cast<int>(signalled.size());
    }
    for (pid_t pid : alive) {
      if (::kill(pid, SIGKILL) == 0) signalled.insert(pid);
    }
    if (after_round) after_round();
    // SIGKILL is delivered asynchronously: give the kernel a moment before rescanning.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace radflow
