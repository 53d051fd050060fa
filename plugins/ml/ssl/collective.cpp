#include "plugins/ml/ssl/collective.h"

#include <torch/torch.h>

#include "common/check.h"

namespace radflow::ml::ssl {
namespace {

void reduce_one(Collective& collective, at::Tensor& tensor, ReduceOp op) {
  std::vector<at::Tensor> one{tensor};
  if (op == ReduceOp::kSum) {
    collective.all_reduce_sum(one);
  } else {
    collective.all_reduce_max(one);
  }
  // Implementations reduce in place, but a non-contiguous input may have been replaced
  // by a reduced copy: write it back into the caller's storage.
  if (!one[0].is_same(tensor)) tensor.copy_(one[0]);
}

void reduce_bucket(Collective& collective, const std::vector<at::Tensor>& bucket) {
  if (bucket.empty()) return;
  std::vector<at::Tensor> flat_parts;
  flat_parts.reserve(bucket.size());
  for (const auto& t : bucket) flat_parts.push_back(t.detach().reshape({-1}));
  std::vector<at::Tensor> flat{torch::cat(flat_parts)};
  collective.all_reduce_sum(flat);
  flat[0].div_(static_cast<double>(collective.world_size()));
  int64_t offset = 0;
  for (const auto& t : bucket) {
    const int64_t n = t.numel();
    torch::NoGradGuard no_grad;
    t.detach().copy_(flat[0].narrow(0, offset, n).view_as(t));
    offset += n;
  }
}

}  // namespace

void Collective::all_reduce_sum(at::Tensor& tensor) { reduce_one(*this, tensor, ReduceOp::kSum); }
void Collective::all_reduce_max(at::Tensor& tensor) { reduce_one(*this, tensor, ReduceOp::kMax); }

void all_reduce_mean_bucketed(Collective& collective, const std::vector<at::Tensor>& tensors,
                              int64_t bucket_bytes) {
  RF_CHECK(bucket_bytes > 0, "all_reduce_mean_bucketed: bucket_bytes must be positive");
  if (collective.world_size() <= 1) return;
  std::vector<at::Tensor> bucket;
  int64_t bytes = 0;
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    const int64_t size = t.numel() * static_cast<int64_t>(t.element_size());
    const bool compatible = bucket.empty() || (bucket.front().scalar_type() == t.scalar_type() &&
                                               bucket.front().device() == t.device());
    if (!compatible || (!bucket.empty() && bytes + size > bucket_bytes)) {
      reduce_bucket(collective, bucket);
      bucket.clear();
      bytes = 0;
    }
    bucket.push_back(t);
    bytes += size;
  }
  reduce_bucket(collective, bucket);
}

}  // namespace radflow::ml::ssl
