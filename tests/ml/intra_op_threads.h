// IntraOpThreads: sets LibTorch's intra-op thread count for one scope and restores it.
// Shared by the LibTorch test binaries (tests/ml/torch, tests/ml/ssl).
#pragma once

#include <ATen/Parallel.h>

namespace radflow::ml::testing {

class IntraOpThreads {
 public:
  explicit IntraOpThreads(int n) : previous_(at::get_num_threads()) { at::set_num_threads(n); }
  ~IntraOpThreads() { at::set_num_threads(previous_); }
  IntraOpThreads(const IntraOpThreads&) = delete;
  IntraOpThreads& operator=(const IntraOpThreads&) = delete;

 private:
  int previous_;
};

}  // namespace radflow::ml::testing
