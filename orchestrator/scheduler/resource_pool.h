// ResourcePool: the daemon's CPU slots and GPU devices, handed to attempts and
// taken back. Never over-commits: try_acquire either grants the whole request or
// nothing. GPUs are granted lowest index first, so placement is deterministic.
// An attempt is charged charged_cpus(request) CPU slots (workflow.h): at least the
// minimum share for each rank, so a multi-rank or tiny-cpus step cannot start
// more processes than the slots pay for.
//
// Not thread-safe: owned by the scheduler thread.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "orchestrator/workflow/workflow.h"

namespace radflow {

struct Allocation {
  double cpus = 0;
  double memory_gb = 0;
  std::vector<int> gpus;
};

class ResourcePool {
 public:
  ResourcePool(double cpus, std::vector<int> gpus, double memory_gb);

  std::optional<Allocation> try_acquire(const Resources& request);
  void release(const Allocation& allocation);

  // Why `request` cannot be placed now (for "why is my step not running"), or "".
  std::string shortfall(const Resources& request) const;
  Capacity capacity() const;
  double free_cpus() const { return free_cpus_; }
  size_t free_gpus() const { return free_gpus_.size(); }

 private:
  const double total_cpus_;
  const std::vector<int> all_gpus_;
  const double total_memory_gb_;
  double free_cpus_;
  double free_memory_gb_;
  std::set<int> free_gpus_;
};

}  // namespace radflow
