// The multi-process Collective: a torch c10d process group (Gloo for CPU tensors, NCCL
// for CUDA tensors where LibTorch was built with it) whose ranks meet over a c10d
// TCPStore that rank 0 hosts at master_addr:port. Created from explicit settings or
// from the torchrun-style environment radflow's executor sets for multi-rank steps
// (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; orchestrator/executor/
// attempt.cpp). Torch-free header; target radflow::ml_ssl_distributed.
//
// The returned Collective owns its store and process group; creation blocks until
// every rank has joined or timeout_ms passed. Rendezvous failures come back as Status;
// failures of later collectives (a rank died, timeout_ms passed) throw (collective.h).
// Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "plugins/ml/ssl/collective.h"

namespace radflow::ml::ssl {

enum class CollectiveBackend {
  kGloo,  // CPU tensors (and CUDA ones, staged through the host)
  kNccl,  // CUDA tensors; only where nccl_available()
};

struct ProcessGroupConfig {
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;  // the CUDA device index for NCCL
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  // Bounds the rendezvous (store connect, waiting for all ranks) and every collective.
  int64_t timeout_ms = 30 * 60 * 1000;  // torch's default
  CollectiveBackend backend = CollectiveBackend::kGloo;
};

// Whether this build can create a kNccl group (LibTorch with CUDA and NCCL).
bool nccl_available();

// RANK, WORLD_SIZE, LOCAL_RANK (default RANK), MASTER_ADDR (default 127.0.0.1),
// MASTER_PORT (required when WORLD_SIZE > 1) from `env`; WORLD_SIZE unset means 1.
// timeout_ms and backend are left at their defaults. Errors: "invalid_env" for a
// missing, non-numeric or out-of-range value (rank outside [0, world_size), port
// outside [1, 65535]).
Result<ProcessGroupConfig> process_group_config_from_env(const std::map<std::string, std::string>& env);
// The same from the process environment.
Result<ProcessGroupConfig> process_group_config_from_env();

// world_size 1: a LocalCollective (nothing to connect). Otherwise rank 0 hosts the
// store, every rank connects and builds the process group. Errors: "invalid_argument"
// (bad config, kNccl unavailable), "rendezvous_failed" (store or group setup failed or
// timed out; the message says why).
Result<std::shared_ptr<Collective>> make_process_group_collective(const ProcessGroupConfig& config);

}  // namespace radflow::ml::ssl
