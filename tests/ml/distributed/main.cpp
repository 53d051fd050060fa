// ml_distributed_test: gtest main, or one rank of a multi-process case when started by
// RankProcesses with --rank-worker.
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "tests/ml/distributed/rank_processes.h"

int main(int argc, char** argv) {
  namespace t = radflow::ml::ssl::testing;
  if (argc == 7 && std::strcmp(argv[1], t::kRankWorkerFlag) == 0) {
    return t::run_rank_worker(argv[2], std::stoi(argv[3]), std::stoi(argv[4]), std::stoi(argv[5]), argv[6]);
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
