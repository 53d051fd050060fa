#include "orchestrator/worker/worker_cli.h"

#include <fcntl.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

#include "common/sha256.h"
#include "common/utf8.h"
#include "orchestrator/executor/process.h"
#include "orchestrator/worker/attempt_runner.h"
#include "orchestrator/worker/attempt_spec.h"
#include "orchestrator/worker/descendants.h"
#include "orchestrator/worker/event_sink.h"
#include "orchestrator/worker/fork_server.h"
#include "orchestrator/worker/plugin_descriptor.h"
#include "orchestrator/worker/plugin_loader.h"
#include "orchestrator/worker/remote_event_writer.h"
#include "radflow/plugin.h"
#include "storage/artifact_store.h"

namespace radflow {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitDescribeFailed = 2;
// The failure is in the end event in full; stderr gets its start.
constexpr size_t kMaxStderrMessageBytes = 1024;

// Set from the signal handler; std::atomic<int> is lock-free, so this is
// async-signal-safe.
std::atomic<int> g_cancelled{0};

extern "C" void on_cancel_signal(int) { g_cancelled.store(1); }

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_cancel_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  // A dead daemon must not kill the plugin mid-write: writes fail with EPIPE instead.
  signal(SIGPIPE, SIG_IGN);
}

const char* kUsage =
    "usage:\n"
    "  radflow-worker --describe PLUGIN.so [--plugin-dir DIR]\n"
    "      print the plugin's descriptor as JSON (exit 0), or {\"error\":{...}} (exit 2)\n"
    "  radflow-worker --attempt SPEC.json\n"
    "      run one step attempt; JSON-line events go to the spec's events_fd (default 3);\n"
    "      exit 0 succeeded, 1 failed, 3 cancelled\n"
    "  radflow-worker --fork-server PLUGIN.so [--plugin-dir DIR]\n"
    "      load the plugin once, then fork a worker per request on fd 3 (the daemon\n"
    "      starts this itself; fork_server.h)\n"
    "  radflow-worker --free-port\n"
    "      print a TCP port free on this machine (a Slurm job's MASTER_PORT)\n"
    "  radflow-worker --help\n";

int print_free_port() {
  auto port = find_free_loopback_port();
  if (!port.ok()) {
    std::cerr << "radflow-worker: " << port.status().message() << "\n";
    return 1;
  }
  std::cout << *port << std::endl;
  return 0;
}

int print_describe_error(const Status& status) {
  nlohmann::json error = {{"error", {{"code", status.code()}, {"message", status.message()}}}};
  std::cout << error.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  return kExitDescribeFailed;
}

int describe(const std::string& plugin_path, std::string plugin_dir) {
  if (plugin_dir.empty()) {
    plugin_dir = std::filesystem::absolute(plugin_path).parent_path().string();
  }
  Result<LoadedPlugin> loaded = load_plugin(plugin_path, plugin_dir, "");
  if (!loaded.ok()) return print_describe_error(loaded.status());
  Result<PluginDescriptor> descriptor = parse_descriptor(loaded->plugin(), loaded->path());
  if (!descriptor.ok()) return print_describe_error(descriptor.status());
  nlohmann::json json = descriptor_to_json(descriptor.value());
  json["path"] = loaded->path();
  Result<std::string> digest = sha256_file(loaded->path());
  if (!digest.ok()) return print_describe_error(digest.status());
  json["sha256"] = digest.value();
  std::cout << json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  return 0;
}

// Best effort: a spec we cannot parse may still name its events fd.
int events_fd_of_raw_spec(const std::string& file) {
  std::ifstream in(file);
  nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("events_fd") && json["events_fd"].is_number_integer()) {
    return json["events_fd"].get<int>();
  }
  return kDefaultEventsFd;
}

// Written before the end event is sent: if the daemon died while this attempt ran, the
// file is how its successor learns the outcome instead of running the step again.
void write_result(const std::string& path, const AttemptOutcome& result) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << result.to_result().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.flush();
    if (!out) {
      spdlog::warn("radflow-worker: cannot write {}", temp);
      return;
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    spdlog::warn("radflow-worker: cannot rename {} to {}", temp, path);
  }
}

// OpenMP threads (LibTorch's and OpenBLAS's, libgomp) spin for 300,000 iterations
// between parallel regions before they sleep. Workers share cores with each other and
// with the daemon, and spinning threads then starve the ones doing work. Measured on
// the 2-core development machine with both cores busy elsewhere, a 197x64x197 matmul:
// 0.7 GFLOP/s spinning by default, 16 with a 10,000-iteration spin, 91 with passive
// waits. But passive waits put a wake-up in every parallel region: the tiny demo ViT
// trained 2x slower with them on a quiet machine, and at the same speed as the
// default with the short spin. So the worker shortens the spin. Set before the plugin
// is loaded, because libgomp reads it once when it starts; either variable in the
// environment wins.
void shorten_openmp_spin_waits() {
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) ::setenv("GOMP_SPINCOUNT", "10000", /*overwrite=*/0);
}

// The digest of each output as written on this machine, with the algorithm the
// daemon's artifact store uses, so that the daemon can tell whether the shared
// filesystem handed it the same bytes. An output that cannot be read fails the attempt.
void hash_outputs(AttemptOutcome* result) {
  if (result->status != AttemptStatus::kSucceeded) return;
  for (const auto& [name, path] : result->outputs) {
    auto digest = storage::digest_of(path);
    if (!digest.ok()) {
      *result = failed_outcome("output_failed",
                               "cannot hash output " + name + ": " + digest.status().message());
      return;
    }
    result->output_digests[name] = digest->digest;
  }
}

int attempt(const std::string& spec_file) {
  install_signal_handlers();
  shorten_openmp_spin_waits();
  if (!become_child_subreaper()) {
    spdlog::warn("radflow-worker: cannot become a child subreaper; processes the plugin "
                 "detaches may outlive the attempt");
  }
  Result<AttemptSpec> spec = read_attempt_spec(spec_file);
  const int fd = spec.ok() ? spec->events_fd : events_fd_of_raw_spec(spec_file);
  // A remote worker (a Slurm task) posts its events over HTTP instead of to the fd.
  EventBatchWriter remote = remote_event_writer_from_env(spec.ok() ? spec->rank : 0);
  // Plugins may start child processes; they must not hold the daemon's pipe open.
  if (!remote && fcntl(fd, F_GETFD) == -1) {
    spdlog::warn("radflow-worker: events fd {} is not open; events are dropped", fd);
  } else if (!remote) {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  EventSink sink(fd, std::move(remote));
  AttemptOutcome result = spec.ok() ? run_attempt(spec.value(), &sink, &g_cancelled)
                                    : failed_outcome(spec.status().code(), spec.status().message());
  if (spec.ok() && spec->hash_outputs) hash_outputs(&result);
  // The result first: from here a daemon that dies takes the attempt in on restart
  // instead of running the plugin again, so the window in which a crash repeats
  // finished work is as short as it can be.
  if (spec.ok() && !spec->result_path.empty()) write_result(spec->result_path, result);
  // Nothing the plugin started may outlive the attempt it belongs to.
  if (const int stopped = stop_descendants(); stopped > 0) {
    sink.emit(log_event(RF_LOG_WARNING, "stopped " + std::to_string(stopped) +
                                            " process(es) the plugin left running"));
  }
  if (result.status == AttemptStatus::kFailed) {
    spdlog::error("radflow-worker: attempt failed: {}: {}", result.reason,
                  truncate_utf8(to_valid_utf8(result.message), kMaxStderrMessageBytes));
  }
  sink.close(result.to_end_event());
  return result.exit_code();
}

}  // namespace

int worker_main(int argc, char** argv) {
  std::string mode;
  std::string target;
  std::string plugin_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--free-port" && argc == 2) {
      return print_free_port();
    } else if ((arg == "--describe" || arg == "--attempt" || arg == "--fork-server") &&
               mode.empty()) {
      mode = arg;
      if (!value(&target)) break;
    } else if (arg == "--plugin-dir") {
      if (!value(&plugin_dir)) {
        target.clear();
        break;
      }
    } else {
      std::cerr << "radflow-worker: unexpected argument '" << arg << "'\n" << kUsage;
      return kExitUsage;
    }
  }
  if (mode == "--describe" && !target.empty()) return describe(target, plugin_dir);
  if (mode == "--attempt" && !target.empty() && plugin_dir.empty()) return attempt(target);
  if (mode == "--fork-server" && !target.empty()) {
    // Before the plugin (and libgomp with it) is loaded, as for --attempt.
    shorten_openmp_spin_waits();
    if (plugin_dir.empty()) plugin_dir = std::filesystem::absolute(target).parent_path().string();
    return run_fork_server(target, plugin_dir, /*socket_fd=*/3, &worker_main);
  }
  std::cerr << kUsage;
  return kExitUsage;
}

}  // namespace radflow
