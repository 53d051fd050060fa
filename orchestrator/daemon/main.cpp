// radflowd: wires the store, plugin registry, scheduler and HTTP API together,
// then serves until SIGTERM or SIGINT (SIGHUP rescans the plugin folder).
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "common/install_layout.h"
#include "orchestrator/api/api_server.h"
#include "orchestrator/daemon/daemon_options.h"
#include "orchestrator/daemon/slurm_wiring.h"
#include "orchestrator/executor/local_executor.h"
#include "orchestrator/executor/fork_servers.h"
#include "orchestrator/executor/landlock.h"
#include "orchestrator/daemon/token_command.h"
#include "orchestrator/executor/stray_reaper.h"

namespace fs = std::filesystem;
using namespace radflow;

namespace {

fs::path self_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

double total_memory_gb() {
  const double pages = static_cast<double>(sysconf(_SC_PHYS_PAGES));
  const double page_size = static_cast<double>(sysconf(_SC_PAGE_SIZE));
  return pages > 0 && page_size > 0 ? pages * page_size / (1024.0 * 1024 * 1024) : 0;
}

// Once at start: where path params may point, and whether workers are confined.
void log_data_roots(const DataRoots& roots, const std::string& data_dir, bool confine) {
  spdlog::info("data roots (path params must lie inside): {}", roots.describe());
  for (const auto& root : roots.roots()) {
    if (!fs::is_directory(root)) spdlog::warn("data root {} is not a folder (yet)", root);
    if (data_dir == root || data_dir.rfind(root + "/", 0) == 0 || root == "/") {
      spdlog::warn("data root {} holds the data folder {}: workers may read its database "
                   "and every run's artifacts", root, data_dir);
    }
  }
  const std::string support = describe_landlock_support();
  if (!confine) {
    spdlog::warn("workers are not confined (--no-confine); this kernel offers {}", support);
  } else if (landlock_abi_version() > 0) {
    spdlog::info("workers confined with {}: they read the data roots, their plugin folder, "
                 "inputs and system files, and write only their step's folder", support);
  } else {
    spdlog::warn("workers cannot be confined: {}; path params are still checked", support);
  }
}

// What the parser cannot see: folders, files and the worker. Also --check-config's
// checks, so nothing is created or locked here.
Status check_settings(const DaemonOptions& options) {
  std::error_code ec;
  if (fs::exists(options.data_dir, ec) && !fs::is_directory(options.data_dir, ec)) {
    return Status::error("bad_option", "--data-dir " + options.data_dir + " is not a folder");
  }
  if (!fs::is_directory(options.plugin_dir, ec)) {
    return Status::error("bad_option", "--plugin-dir " + options.plugin_dir + " is not a folder");
  }
  if (access(options.worker_path.c_str(), X_OK) != 0) {
    return Status::error("bad_option",
                         "cannot execute the worker " + options.worker_path + " (use --worker PATH)");
  }
  for (const auto& [flag, file] : {std::pair{"--tls-cert", options.tls_cert},
                                   std::pair{"--tls-key", options.tls_key}}) {
    if (!file.empty() && access(file.c_str(), R_OK) != 0) {
      return Status::error("bad_option", std::string(flag) + " " + file + " cannot be read");
    }
  }
  auto gpus = resolve_gpus(options.gpus);
  return gpus.ok() ? Status() : gpus.status();
}

int fail(const std::string& message) {
  std::fprintf(stderr, "radflowd: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "token") return run_token_command(argc - 1, argv + 1);
  auto parsed = parse_daemon_options(argc, argv);
  if (!parsed.ok()) return fail(parsed.status().message());
  DaemonOptions options = *parsed;
  if (options.help) {
    std::fputs(daemon_usage().c_str(), stdout);
    return 0;
  }
  if (options.version) {
    std::printf("radflowd %s\n", RADFLOW_VERSION);
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");

  if (options.plugin_dir.empty()) {
    options.plugin_dir = default_plugin_dir(self_dir().string(), RADFLOW_PLUGIN_DIR_FROM_BIN,
                                            RADFLOW_DEFAULT_PLUGIN_DIR);
  }
  if (options.worker_path.empty()) options.worker_path = (self_dir() / "radflow-worker").string();
  if (Status s = check_settings(options); !s.ok()) return fail(s.message());
  if (options.check_config) {
    std::printf("%s\n", daemon_settings_json(options).c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "radflowd: the settings are valid%s\n",
                 options.config_file.empty() ? "" : (" (config " + options.config_file + ")").c_str());
    return 0;
  }
  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec) return fail("cannot create --data-dir " + options.data_dir + ": " + ec.message());
  options.data_dir = fs::canonical(options.data_dir).string();
  options.plugin_dir = fs::canonical(options.plugin_dir).string();
  if (options.data_roots.empty()) {
    options.data_roots.push_back(options.data_dir + "/data");
    fs::create_directories(options.data_roots.back(), ec);
  }
  for (auto& root : options.data_roots) root = fs::absolute(root).lexically_normal().string();

  // One daemon per data folder: two writers would corrupt each other's view.
  const std::string lock_path = options.data_dir + "/radflowd.lock";
  int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return fail("another radflowd is using " + options.data_dir + " (lock " + lock_path + ")");
  }

  auto gpus = resolve_gpus(options.gpus);
  if (!gpus.ok()) return fail(gpus.status().message());
  const double cpus = options.cpus > 0 ? options.cpus
                                       : static_cast<double>(std::thread::hardware_concurrency());

  // Signals go to one thread that asks the server to stop (SIGTERM, SIGINT) or
  // rescans the plugin folder (SIGHUP); every other thread (created below)
  // inherits the blocked mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto store = storage::Store::open(options.data_dir);
  if (!store.ok()) return fail(store.status().to_string());
  auto artifacts = storage::ArtifactStore::open(options.data_dir);
  if (!artifacts.ok()) return fail(artifacts.status().to_string());

  storage::Store* db = store->get();
  // Without a token every request is allowed: fine on loopback, never elsewhere.
  const bool loopback = is_loopback_host(options.host);
  if (!loopback) {
    auto tokens = db->active_tokens();
    if (!tokens.ok()) return fail(tokens.status().to_string());
    if (tokens->empty()) {
      return fail("refusing to listen on " + options.host +
                  " without a token: anyone who can connect could run code here. Create one "
                  "first with `radflowd token create NAME --role admin --data-dir " +
                  options.data_dir + "` (see SECURITY.md), or listen on 127.0.0.1");
    }
  }
  DescriptorCache cache;
  cache.get = [db](const std::string& sha) -> std::optional<std::string> {
    auto text = db->get_plugin_descriptor(sha);
    return text.ok() ? std::optional<std::string>(*text) : std::nullopt;
  };
  cache.put = [db](const std::string& sha, const std::string& json) {
    (void)db->put_plugin_descriptor(sha, json);
  };
  PluginRegistry registry(options.plugin_dir, options.worker_path, cache);
  if (Status s = registry.refresh(); !s.ok()) return fail(s.to_string());
  spdlog::info("{} plugin(s) in {}", registry.plugins().size(), options.plugin_dir);

  EventBus bus;
  SchedulerOptions scheduler_options;
  scheduler_options.data_dir = options.data_dir;
  scheduler_options.worker_path = options.worker_path;
  scheduler_options.cpus = cpus;
  scheduler_options.gpus = *gpus;
  scheduler_options.memory_gb = total_memory_gb();
  scheduler_options.grace_s = options.grace_s;
  scheduler_options.max_ranks = options.max_ranks;
  scheduler_options.pass_env = options.pass_env;
  scheduler_options.data_roots = DataRoots(options.data_roots);
  scheduler_options.confine = options.confine;
  set_fork_servers_enabled(options.fork_server);
  log_data_roots(scheduler_options.data_roots, options.data_dir, options.confine);
  scheduler_options.max_log_bytes_per_attempt =
      static_cast<size_t>(options.max_log_mib * 1024 * 1024);
  // Steps run here or on Slurm (docs/slurm.md), whichever they choose; --executor is
  // the default. The report URL waits for the port when --listen asked for port 0.
  std::shared_ptr<SlurmExecutor> slurm =
      make_slurm_executor(options, options.port == 0 && options.slurm_report_url.empty()
                                       ? ""
                                       : slurm_report_url(options, options.port));
  scheduler_options.executors = {{LocalExecutor::kName, std::make_shared<LocalExecutor>()},
                                 {slurm->name(), slurm}};
  scheduler_options.default_executor = options.executor;
  Scheduler scheduler(scheduler_options, db, artifacts->get(), &registry, &bus);

  ApiLimits limits;
  limits.max_body_bytes = static_cast<size_t>(options.max_body_mib * 1024 * 1024);
  limits.threads = options.http_threads;
  limits.max_streams = options.max_streams;
  limits.max_streams_per_client = options.max_streams_per_client;
  SecurityOptions security;
  security.allowed_hosts = options.allowed_hosts;
  if (!loopback && options.host != "0.0.0.0" && options.host != "::") {
    security.allowed_hosts.push_back(options.host);
  }
  // Slurm's workers post to the report URL, naming its host.
  if (const std::string host = url_host(slurm_report_url(options, options.port));
      !host.empty() && !is_loopback_host(host)) {
    security.allowed_hosts.push_back(host);
  }
  security.tls_cert_file = options.tls_cert;
  security.tls_key_file = options.tls_key;
  security.require_tokens = !loopback;
  ApiServer server(
      {db, artifacts->get(), &scheduler, &registry, &bus, RADFLOW_VERSION, limits, security,
       slurm.get()});
  if (Status s = server.bind(options.host, options.port); !s.ok()) return fail(s.message());
  slurm->set_report_url(slurm_report_url(options, server.port()));
  // What a worker that died of a signal leaves running is re-parented to radflowd,
  // which kills it (orchestrator/executor/stray_reaper.h).
  std::unique_ptr<StrayReaper> strays;
  if (become_subreaper()) {
    strays = std::make_unique<StrayReaper>(
        std::chrono::milliseconds(500), [](pid_t pid, const std::string& command) {
          spdlog::warn("killing process {} ({}): a worker that died left it running", pid,
                       command);
        });
  } else {
    spdlog::warn("cannot become a child subreaper: processes left by a worker that dies "
                 "of a signal will not be stopped");
  }
  if (Status s = scheduler.start(); !s.ok()) return fail(s.to_string());

  {
    std::ofstream pid_file(options.data_dir + "/radflowd.pid");
    pid_file << getpid() << "\n";
  }
  std::atomic<bool> served{false};
  std::thread signal_thread([&] {
    int received = 0;
    while (sigwait(&stop_signals, &received) == 0 && received == SIGHUP) {
      // PluginRegistry::refresh is thread-safe; reads of the API rescan as well.
      const Status rescanned = registry.refresh();
      spdlog::info("SIGHUP: rescanned the plugin folder {}: {} plugin(s), {} broken{}",
                   options.plugin_dir, registry.plugins().size(), registry.broken().size(),
                   rescanned.ok() ? "" : " (" + rescanned.message() + ")");
    }
    spdlog::info("{} received: stopping", received == SIGTERM ? "SIGTERM" : "SIGINT");
    // stop() does nothing while the server is not yet listening: a signal that
    // arrives during start-up would be lost. Keep asking until listen() returned.
    while (!served.load()) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  spdlog::info("radflowd {} serving {}://{}:{} (data {}, {} CPU slot(s), {} GPU(s))",
               RADFLOW_VERSION, options.tls_cert.empty() ? "http" : "https", options.host, server.port(), options.data_dir, cpus,
               gpus->size());
  server.listen();
  served = true;

  scheduler.shutdown();
  stop_fork_servers();  // their workers were stopped with the scheduler
  fs::remove(options.data_dir + "/radflowd.pid", ec);
  spdlog::info("stopped");
  // The signal thread is still in sigwait when the server stopped for another
  // reason; the process is ending, so it is not joined.
  signal_thread.detach();
  return 0;
}
