// RankProcesses: launches N copies of this test binary as ranks of one process group
// (each re-executes /proc/self/exe in worker mode, so no torch thread is forked) and
// waits for them under a deadline. Killed and reaped on destruction, so a failing or
// hanging rank never outlives the test. Also a free loopback port for the TCPStore.
//
// Owns its children; not thread-safe.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

namespace radflow::ml::ssl::testing {

// Worker-mode flag and arguments: <binary> --rank-worker <case> <rank> <world> <port> <out_dir>
inline constexpr const char* kRankWorkerFlag = "--rank-worker";

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_loopback_port();

class RankProcesses {
 public:
  RankProcesses(const std::string& worker_case, int world_size, int port, const std::string& out_dir);
  ~RankProcesses();
  RankProcesses(const RankProcesses&) = delete;
  RankProcesses& operator=(const RankProcesses&) = delete;

  // Waits for every rank; kills all of them once deadline_ms passed. Returns each
  // rank's exit code (128 + signal when killed by one, -1 when it could not start).
  std::vector<int> wait(int deadline_ms);

 private:
  std::vector<pid_t> pids_;
  std::vector<int> codes_;
};

// The worker entry point, in rank_worker.cpp: runs one named case as `rank` of
// `world_size` and returns the process exit code (0: ok).
int run_rank_worker(const std::string& worker_case, int rank, int world_size, int port,
                    const std::string& out_dir);

}  // namespace radflow::ml::ssl::testing
