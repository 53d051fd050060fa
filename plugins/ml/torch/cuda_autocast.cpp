#include "plugins/ml/torch/cuda_autocast.h"

#include <ATen/autocast_mode.h>

// LibTorch 2.4 moved autocast to per-device-type functions and deprecated the CUDA-only ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define RADFLOW_AUTOCAST_PER_DEVICE 1
#else
#define RADFLOW_AUTOCAST_PER_DEVICE 0
#endif

namespace radflow::ml {
namespace {

bool cuda_autocast_enabled() {
#if RADFLOW_AUTOCAST_PER_DEVICE
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

at::ScalarType cuda_autocast_dtype() {
#if RADFLOW_AUTOCAST_PER_DEVICE
  return at::autocast::get_autocast_dtype(at::kCUDA);
#else
  return at::autocast::get_autocast_gpu_dtype();
#endif
}

void set_cuda_autocast(bool enabled, at::ScalarType dtype) {
#if RADFLOW_AUTOCAST_PER_DEVICE
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
#else
  at::autocast::set_enabled(enabled);
  at::autocast::set_autocast_gpu_dtype(dtype);
#endif
}

}  // namespace

CudaAutocastGuard::CudaAutocastGuard(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  previous_enabled_ = cuda_autocast_enabled();
  previous_dtype_ = cuda_autocast_dtype();
  set_cuda_autocast(true, at::kBFloat16);
  at::autocast::increment_nesting();
}

CudaAutocastGuard::~CudaAutocastGuard() {
  if (!enabled_) return;
  // The outermost scope drops the cached bf16 copies of the weights, as Python's does.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_cuda_autocast(previous_enabled_, previous_dtype_);
}

}  // namespace radflow::ml
