// Per-rank inputs of the collective cases, shared by the ranks and the test that
// recomputes the expected results in one process. Header-only value functions.
#pragma once

#include <cstdint>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace radflow::ml::ssl::testing {

inline constexpr int64_t kCenterDim = 6;

// Rank r holds 3 + 2 r rows (unequal, so a mean of rank means differs from the mean of
// all rows), drawn from a generator seeded by r.
inline torch::Tensor center_logits(int rank) {
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(100 + rank));
  return torch::randn({3 + 2 * rank, kCenterDim}, gen, torch::TensorOptions().dtype(torch::kFloat)) * 0.5;
}

}  // namespace radflow::ml::ssl::testing
