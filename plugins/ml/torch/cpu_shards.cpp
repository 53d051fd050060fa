#include "plugins/ml/torch/cpu_shards.h"

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>

#include "common/check.h"

// ATen's parallel_for runs serially in a translation unit compiled without OpenMP; the
// build gives this file OpenMP's flags (CMakeLists.txt, radflow_ml_torch_parallel).
#if AT_PARALLEL_OPENMP && !defined(_OPENMP)
#error "compile with OpenMP (-fopenmp): at::parallel_for would run on one thread"
#endif

namespace radflow::ml {

int64_t cpu_shard_count(int64_t requested, int64_t rows, const torch::Device& device) {
  RF_CHECK(requested >= 0, "cpu_shard_count: requested shards must be >= 0");
  if (!device.is_cpu() || rows <= 1 || at::in_parallel_region()) return 1;
  const int64_t wanted = requested > 0 ? requested : static_cast<int64_t>(at::get_num_threads());
  return std::max<int64_t>(1, std::min(wanted, rows));
}

std::vector<std::pair<int64_t, int64_t>> shard_rows(int64_t rows, int64_t shards) {
  RF_CHECK(shards >= 1 && shards <= rows, "shard_rows: needs 1 <= shards <= rows");
  std::vector<std::pair<int64_t, int64_t>> ranges;
  ranges.reserve(static_cast<size_t>(shards));
  const int64_t base = rows / shards, larger = rows % shards;
  int64_t begin = 0;
  for (int64_t s = 0; s < shards; ++s) {
    const int64_t end = begin + base + (s < larger ? 1 : 0);
    ranges.emplace_back(begin, end);
    begin = end;
  }
  return ranges;
}

void for_each_shard(int64_t shards, const std::function<void(int64_t shard)>& fn) {
  // OpenMP's threads do not inherit the caller's thread-local state (grad mode above
  // all): each call puts the caller's back for its duration.
  const at::ThreadLocalState state;
  at::parallel_for(0, shards, 1, [&](int64_t begin, int64_t end) {
    at::ThreadLocalStateGuard guard(state);
    for (int64_t shard = begin; shard < end; ++shard) fn(shard);
  });
}

void for_each_row(int64_t rows, int64_t shards, const std::function<void(int64_t row)>& fn) {
  const auto ranges = shard_rows(rows, shards);
  for_each_shard(shards, [&](int64_t shard) {
    for (int64_t row = ranges[static_cast<size_t>(shard)].first; row < ranges[static_cast<size_t>(shard)].second;
         ++row) {
      fn(row);
    }
  });
}

}  // namespace radflow::ml
