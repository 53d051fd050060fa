// Runs a two-rank case and loads what each rank saved: the common body of the
// multi-process tests. Header-only; gtest assertions inside.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/ml/distributed/rank_processes.h"

namespace radflow::ml::ssl::testing {

// Generous: a rank that hangs (a broken rendezvous) is killed after this, and the test
// fails instead of the suite timing out.
inline constexpr int kRankDeadlineMs = 120000;

// Exit codes of the ranks; outputs[r] holds rank r's saved tensors (empty when it saved none).
struct RankRun {
  std::vector<int> exit_codes;
  std::vector<std::vector<torch::Tensor>> outputs;
};

inline RankRun run_ranks(const std::string& worker_case, int world_size = 2) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() /
                       ("ml_distributed_" + worker_case + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  RankRun run;
  const int port = free_loopback_port();
  EXPECT_GT(port, 0);
  {
    RankProcesses ranks(worker_case, world_size, port, dir.string());
    run.exit_codes = ranks.wait(kRankDeadlineMs);
  }
  for (int r = 0; r < world_size; ++r) {
    std::vector<torch::Tensor> out;
    const fs::path file = dir / ("rank-" + std::to_string(r) + ".pt");
    if (fs::exists(file)) torch::load(out, file.string());
    run.outputs.push_back(std::move(out));
  }
  fs::remove_all(dir);
  return run;
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

}  // namespace radflow::ml::ssl::testing
