// gtest main for ml_ssl_test: pins torch's intra-op threads to the machine's cores
// before any test runs, so timings do not depend on OpenMP's own guess.
#include <thread>

#include <gtest/gtest.h>
#include <torch/torch.h>

int main(int argc, char** argv) {
  const unsigned cores = std::thread::hardware_concurrency();
  at::set_num_threads(cores > 0 ? static_cast<int>(cores) : 1);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
