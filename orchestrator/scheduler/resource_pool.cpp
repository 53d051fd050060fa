#include "orchestrator/scheduler/resource_pool.h"

#include <cstdio>

namespace radflow {
namespace {
// Fractional CPU requests add up in floating point; compare with a tolerance.
constexpr double kEpsilon = 1e-9;

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}
}  // namespace

ResourcePool::ResourcePool(double cpus, std::vector<int> gpus, double memory_gb)
    : total_cpus_(cpus),
      all_gpus_(gpus),
      total_memory_gb_(memory_gb),
      free_cpus_(cpus),
      free_memory_gb_(memory_gb),
      free_gpus_(gpus.begin(), gpus.end()) {}

std::optional<Allocation> ResourcePool::try_acquire(const Resources& request) {
  if (!shortfall(request).empty()) return std::nullopt;
  Allocation allocation;
  allocation.cpus = charged_cpus(request);
  allocation.memory_gb = total_memory_gb_ > 0 ? request.memory_gb : 0;
  for (int i = 0; i < request.gpus; ++i) {
    allocation.gpus.push_back(*free_gpus_.begin());
    free_gpus_.erase(free_gpus_.begin());
  }
  free_cpus_ -= allocation.cpus;
  free_memory_gb_ -= allocation.memory_gb;
  return allocation;
}

void ResourcePool::release(const Allocation& allocation) {
  free_cpus_ += allocation.cpus;
  free_memory_gb_ += allocation.memory_gb;
  for (int gpu : allocation.gpus) free_gpus_.insert(gpu);
}

std::string ResourcePool::shortfall(const Resources& request) const {
  if (request.gpus > static_cast<int>(free_gpus_.size())) {
    return "waiting for " + std::to_string(request.gpus) + " free GPU(s); " +
           std::to_string(free_gpus_.size()) + " of " + std::to_string(all_gpus_.size()) +
           " free";
  }
  if (const double cpus = charged_cpus(request); cpus > free_cpus_ + kEpsilon) {
    return "waiting for " + number(cpus) + " CPU slot(s); " + number(free_cpus_) + " of " +
           number(total_cpus_) + " free";
  }
  if (total_memory_gb_ > 0 && request.memory_gb > free_memory_gb_ + kEpsilon) {
    return "waiting for " + number(request.memory_gb) + " GB of memory; " +
           number(free_memory_gb_) + " GB free";
  }
  return "";
}

Capacity ResourcePool::capacity() const {
  Capacity capacity;
  capacity.gpus = static_cast<int>(all_gpus_.size());
  capacity.cpus = total_cpus_;
  capacity.memory_gb = total_memory_gb_;
  return capacity;
}

}  // namespace radflow
