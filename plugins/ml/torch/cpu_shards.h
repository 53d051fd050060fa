// Data parallelism over the intra-op threads of one process. A batch's rows are cut
// into shards and each shard runs on its own intra-op thread, every ATen operator and
// BLAS call inside it single-threaded (LibTorch and OpenBLAS do not nest parallel
// regions). A model whose operators are too small to split well, such as the demo's
// tiny ViT (thousands of sub-millisecond operators a step), then stops paying an
// OpenMP fork/join and a barrier per operator: each thread runs its shard straight
// through, like one DDP rank per core.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace radflow::ml {

// How many shards a batch of `rows` rows on `device` splits into when `requested`
// shards were asked for: 0 asks for one per intra-op thread (at::get_num_threads()).
// Never more than `rows`; 1 off the CPU (a GPU's kernels are not the per-operator
// bottleneck) and when the caller is already inside a parallel region.
int64_t cpu_shard_count(int64_t requested, int64_t rows, const torch::Device& device);

// [begin, end) row ranges of `shards` contiguous shards of `rows` rows, as equal as
// possible, the first ones one row larger. Requires 1 <= shards <= rows.
std::vector<std::pair<int64_t, int64_t>> shard_rows(int64_t rows, int64_t shards);

// Runs fn(shard) for every shard in [0, shards), in parallel on the intra-op threads
// (several shards per thread when there are more shards than threads; serially when
// there is one thread). Each call runs under the caller's thread-local state (grad
// mode, autocast, dispatch keys), as if called from the caller's thread. Returns when
// all calls have returned; rethrows the first exception any of them threw.
void for_each_shard(int64_t shards, const std::function<void(int64_t shard)>& fn);

// Runs fn(row) for every row in [0, rows), the rows cut into `shards` shards
// (shard_rows) that run as for_each_shard runs them, each shard's rows in order.
// Requires 1 <= shards <= rows.
void for_each_row(int64_t rows, int64_t shards, const std::function<void(int64_t row)>& fn);

}  // namespace radflow::ml
