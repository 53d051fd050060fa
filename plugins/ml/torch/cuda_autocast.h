// bf16 autocast on CUDA for a scope, as Python's torch.autocast("cuda", torch.bfloat16):
// matmuls and convolutions run in bfloat16, reductions and softmax stay in float32.
// Works on LibTorch 1.13 and 2.x (whose autocast API differs). A disabled guard does
// nothing, so CPU code can hold one unconditionally.
#pragma once

#include <torch/torch.h>

namespace radflow::ml {

class CudaAutocastGuard {
 public:
  explicit CudaAutocastGuard(bool enabled);
  ~CudaAutocastGuard();
  CudaAutocastGuard(const CudaAutocastGuard&) = delete;
  CudaAutocastGuard& operator=(const CudaAutocastGuard&) = delete;

 private:
  bool enabled_;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kHalf;
};

}  // namespace radflow::ml
