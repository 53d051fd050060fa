// linear_probe: RAD-DINO's classification protocol on frozen features — one linear
// (logistic) classifier per finding, trained on the train split, its weight decay
// chosen per finding on the validation split by AUPRC, scored on the test split with
// AUROC and AUPRC and bootstrap 95% intervals.
//
// Features are standardised with the train split's mean and std. Each finding is a
// column of `labels` holding 0 or 1 (or -1: unknown for that sample, ignored).
// Degenerate findings never crash: a finding with one class in train, val or test
// reports NaN metrics and a warning naming the split.
//
// Pure function of its inputs (and the seed); runs on the calling thread with
// LibTorch's intra-op threads.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/ml/metrics/bootstrap.h"

namespace radflow::ml::eval {

struct ProbeSplit {
  torch::Tensor features;  // [N, D] float32
  torch::Tensor labels;    // [N, L] int64: 1, 0, or -1 (unknown)
};

struct ProbeOptions {
  std::vector<double> weight_decays = {1e-5, 1e-4, 1e-3, 1e-2, 1e-1};
  int max_iterations = 100;  // L-BFGS iterations per fit
  int bootstrap_resamples = 1000;
  uint64_t seed = 0;
};

struct FindingResult {
  std::string finding;
  double auroc = 0;
  double auprc = 0;
  metrics::BootstrapInterval auroc_ci;
  metrics::BootstrapInterval auprc_ci;
  double weight_decay = 0;       // chosen on the validation split
  double val_auprc = 0;          // at that weight decay
  int test_positives = 0;
  int test_count = 0;
  std::string warning;           // empty, or why the metrics are NaN
  std::vector<double> test_scores;  // sigmoid probabilities, one per test sample (NaN if unknown)
};

struct ProbeResult {
  std::vector<FindingResult> findings;
  double macro_auroc = 0;  // mean over findings with finite values
  double macro_auprc = 0;
  int macro_count = 0;     // how many findings the macro averages cover
};

// Errors: "empty_split" (a split with no samples, naming it), "shape_mismatch"
// (features and labels disagree, or finding names do not match the label columns).
Result<ProbeResult> linear_probe(const ProbeSplit& train, const ProbeSplit& val,
                                 const ProbeSplit& test, const std::vector<std::string>& findings,
                                 const ProbeOptions& options);

}  // namespace radflow::ml::eval
