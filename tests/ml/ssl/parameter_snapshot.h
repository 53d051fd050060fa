// snapshot(): detached copies of a module's parameters, to compare before and after
// an update. Shared by the SSL tests.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace radflow::ml::ssl::testing {

inline std::vector<torch::Tensor> snapshot(const torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

}  // namespace radflow::ml::ssl::testing
