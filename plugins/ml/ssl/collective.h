// Collective: the cross-rank reductions of data-parallel SSL training (one process per
// rank, research/raddino-method.md §2.2, §2.10): in-place all-reduce (sum, max) of
// tensors and a barrier. SslTrainer, TeacherCentering and sinkhorn_knopp take one to
// reduce gradients, center statistics and Sinkhorn sums; a null Collective, or
// LocalCollective, means a single process and every reduction is the identity. The
// c10d (Gloo / NCCL) implementation lives in process_group_collective.h, in its own
// target, so this header stays torch-free (tensors are only forward-declared).
//
// Contract for implementations: every rank calls the same reductions in the same order
// with tensors of the same shapes and dtypes; a call blocks until all ranks joined.
// Failures (a peer died, a timeout) throw std::runtime_error: they are not expected
// user input, and the plugin boundary catches them. Not thread-safe: one training loop
// drives a Collective.
#pragma once

#include <cstdint>
#include <vector>

namespace at {
class Tensor;
}

namespace radflow::ml::ssl {

enum class ReduceOp { kSum, kMax };

class Collective {
 public:
  virtual ~Collective() = default;

  virtual int64_t rank() const = 0;
  virtual int64_t world_size() const = 0;
  // Blocks until every rank reached the barrier.
  virtual void barrier() = 0;

  // In place on every tensor; the tensors keep their storage.
  void all_reduce_sum(std::vector<at::Tensor>& tensors) { all_reduce(tensors, ReduceOp::kSum); }
  void all_reduce_max(std::vector<at::Tensor>& tensors) { all_reduce(tensors, ReduceOp::kMax); }
  void all_reduce_sum(at::Tensor& tensor);
  void all_reduce_max(at::Tensor& tensor);

 protected:
  virtual void all_reduce(std::vector<at::Tensor>& tensors, ReduceOp op) = 0;
};

// World size 1, rank 0: reductions and the barrier do nothing.
class LocalCollective final : public Collective {
 public:
  int64_t rank() const override { return 0; }
  int64_t world_size() const override { return 1; }
  void barrier() override {}

 protected:
  void all_reduce(std::vector<at::Tensor>& /*tensors*/, ReduceOp /*op*/) override {}
};

// True when `collective` spans more than one process (null counts as one).
inline bool is_distributed(const Collective* collective) {
  return collective != nullptr && collective->world_size() > 1;
}

// DDP's bucket size: gradients are flattened into buffers of at most this many bytes
// (a single larger tensor gets a bucket of its own).
constexpr int64_t kDefaultBucketBytes = int64_t{25} << 20;

// Averages `tensors` over the ranks in place, DDP-style: consecutive tensors of one
// dtype and device are flattened into buckets of up to bucket_bytes, each bucket is
// summed over the ranks in one call and divided by the world size, and the results are
// copied back. Undefined tensors are skipped (every rank must skip the same ones).
// Identity in a single process.
void all_reduce_mean_bucketed(Collective& collective, const std::vector<at::Tensor>& tensors,
                              int64_t bucket_bytes = kDefaultBucketBytes);

}  // namespace radflow::ml::ssl
