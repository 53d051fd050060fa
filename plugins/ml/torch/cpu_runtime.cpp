#include "plugins/ml/torch/cpu_runtime.h"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>

#include <ATen/Parallel.h>

namespace radflow::ml {

int granted_cpus() {
  const char* env = std::getenv("RADFLOW_CPUS");
  return std::max(1, env ? std::atoi(env) : 1);
}

void keep_freed_buffers_for_reuse() {
  // No mmap'd chunks (large blocks come from, and return to, the heap), and no trimming
  // of the heap's top, so a freed 300 MiB logits buffer is reused by the next one.
  ::mallopt(M_MMAP_MAX, 0);
  ::mallopt(M_TRIM_THRESHOLD, -1);
}

int configure_cpu_runtime() {
  const int threads = granted_cpus();
  at::set_num_threads(threads);
  keep_freed_buffers_for_reuse();
  return threads;
}

}  // namespace radflow::ml
