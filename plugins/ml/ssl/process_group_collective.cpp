#include "plugins/ml/ssl/process_group_collective.h"

// c10d's backend headers are guarded by the macros torch's own build defines; LibTorch's
// CMake config does not export them, so they are set here, for this file only (the
// precompiled torch/torch.h includes no c10d header).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#if defined(RADFLOW_WITH_NCCL) && !defined(USE_C10D_NCCL)
#define USE_C10D_NCCL 1
#endif

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <utility>
#include <vector>

#include <torch/torch.h>
#include <torch/version.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(RADFLOW_WITH_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace radflow::ml::ssl {
namespace {

// The one place where the c10d API differs between the LibTorch versions we build
// against: 1.x backends are ProcessGroups; from 2.0 ProcessGroupGloo/NCCL derive from
// c10d::Backend (ProcessGroup became a dispatcher over backends). The calls used here
// (allreduce, barrier, Work::wait) have the same shape on both.
#if TORCH_VERSION_MAJOR >= 2
using BackendPtr = c10::intrusive_ptr<c10d::Backend>;
#else
using BackendPtr = c10::intrusive_ptr<c10d::ProcessGroup>;
#endif

class ProcessGroupCollective final : public Collective {
 public:
  ProcessGroupCollective(c10::intrusive_ptr<c10d::Store> store, BackendPtr group, int64_t rank,
                         int64_t world_size)
      : store_(std::move(store)), group_(std::move(group)), rank_(rank), world_size_(world_size) {}

  int64_t rank() const override { return rank_; }
  int64_t world_size() const override { return world_size_; }

  void barrier() override {
    try {
      group_->barrier()->wait();
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("collective barrier failed: ") + e.what());
    }
  }

 protected:
  // c10d's tensor list means "one tensor per device"; different tensors are separate
  // calls. They are all enqueued before the first wait (Gloo runs them in order).
  void all_reduce(std::vector<at::Tensor>& tensors, ReduceOp op) override {
    c10d::AllreduceOptions options;
    options.reduceOp = op == ReduceOp::kSum ? c10d::ReduceOp::SUM : c10d::ReduceOp::MAX;
    try {
      std::vector<std::vector<at::Tensor>> calls;
      calls.reserve(tensors.size());
      for (const auto& t : tensors) calls.push_back({t.is_contiguous() ? t : t.contiguous()});
      std::vector<decltype(group_->allreduce(calls[0], options))> works;
      works.reserve(calls.size());
      for (auto& call : calls) works.push_back(group_->allreduce(call, options));
      for (size_t i = 0; i < works.size(); ++i) {
        works[i]->wait();
        // A non-contiguous input was reduced in a copy: write it back in place.
        if (!calls[i][0].is_same(tensors[i])) tensors[i].copy_(calls[i][0]);
      }
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("collective all_reduce failed: ") + e.what());
    }
  }

 private:
  c10::intrusive_ptr<c10d::Store> store_;  // kept: rank 0's hosts the rendezvous server
  BackendPtr group_;
  int64_t rank_;
  int64_t world_size_;
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
  // As torch.distributed: an explicit interface wins; ranks that meet on loopback stay
  // on loopback (the hostname may resolve to an interface the sandbox cannot use).
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0') {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (is_loopback(master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

Result<int64_t> parse_int(const std::map<std::string, std::string>& env, const std::string& key,
                          int64_t fallback, bool required) {
  const auto it = env.find(key);
  if (it == env.end() || it->second.empty()) {
    if (required) return Status::error("invalid_env", key + " is not set");
    return fallback;
  }
  try {
    size_t used = 0;
    const long long value = std::stoll(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument(it->second);
    return static_cast<int64_t>(value);
  } catch (const std::exception&) {
    return Status::error("invalid_env", key + " is not an integer: '" + it->second + "'");
  }
}

}  // namespace

bool nccl_available() {
#if defined(RADFLOW_WITH_NCCL)
  return true;
#else
  return false;
#endif
}

Result<ProcessGroupConfig> process_group_config_from_env(const std::map<std::string, std::string>& env) {
  ProcessGroupConfig config;
  auto world = parse_int(env, "WORLD_SIZE", 1, false);
  if (!world.ok()) return world.status();
  config.world_size = world.value();
  if (config.world_size < 1) return Status::error("invalid_env", "WORLD_SIZE must be >= 1");
  const bool multi = config.world_size > 1;
  auto rank = parse_int(env, "RANK", 0, multi);
  if (!rank.ok()) return rank.status();
  config.rank = rank.value();
  if (config.rank < 0 || config.rank >= config.world_size) {
    return Status::error("invalid_env", "RANK must be in [0, WORLD_SIZE)");
  }
  auto local_rank = parse_int(env, "LOCAL_RANK", config.rank, false);
  if (!local_rank.ok()) return local_rank.status();
  config.local_rank = local_rank.value();
  auto port = parse_int(env, "MASTER_PORT", config.master_port, multi);
  if (!port.ok()) return port.status();
  config.master_port = port.value();
  // A single process never rendezvous: the scheduler gives one-rank steps port 0.
  if (multi && (config.master_port < 1 || config.master_port > 65535)) {
    return Status::error("invalid_env", "MASTER_PORT must be in [1, 65535]");
  }
  if (auto it = env.find("MASTER_ADDR"); it != env.end() && !it->second.empty()) config.master_addr = it->second;
  return config;
}

Result<ProcessGroupConfig> process_group_config_from_env() {
  std::map<std::string, std::string> env;
  for (const char* key : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) {
    if (const char* value = std::getenv(key)) env[key] = value;
  }
  return process_group_config_from_env(env);
}

Result<std::shared_ptr<Collective>> make_process_group_collective(const ProcessGroupConfig& config) {
  if (config.world_size < 1 || config.rank < 0 || config.rank >= config.world_size) {
    return Status::error("invalid_argument", "rank must be in [0, world_size)");
  }
  if (config.master_port < 1 || config.master_port > 65535 || config.timeout_ms <= 0) {
    return Status::error("invalid_argument", "master_port must be in [1, 65535] and timeout_ms positive");
  }
  if (config.backend == CollectiveBackend::kNccl && !nccl_available()) {
    return Status::error("invalid_argument", "this build has no NCCL process group");
  }
  if (config.world_size == 1) return std::shared_ptr<Collective>(std::make_shared<LocalCollective>());
  const std::chrono::milliseconds timeout(config.timeout_ms);
  const int rank = static_cast<int>(config.rank), size = static_cast<int>(config.world_size);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(config.master_port);
    store_options.isServer = config.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(config.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(config.master_addr, store_options);
    BackendPtr group;
    if (config.backend == CollectiveBackend::kGloo) {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      options->devices.push_back(gloo_device(config.master_addr));
      group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
    } else {
#if defined(RADFLOW_WITH_NCCL)
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
#endif
    }
    return std::shared_ptr<Collective>(
        std::make_shared<ProcessGroupCollective>(store, std::move(group), config.rank, config.world_size));
  } catch (const std::exception& e) {
    return Status::error("rendezvous_failed", "rank " + std::to_string(config.rank) + " of " +
                                                  std::to_string(config.world_size) + " at " + config.master_addr +
                                                  ":" + std::to_string(config.master_port) + ": " + e.what());
  }
}

}  // namespace radflow::ml::ssl
