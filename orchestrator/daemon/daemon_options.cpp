#include "orchestrator/daemon/daemon_options.h"

#include <cstdio>
#include <set>
#include <sstream>

#include "orchestrator/executor/process.h"

namespace radflow {

std::string daemon_usage() {
  return R"(radflowd: runs radflow workflows and serves the API and dashboard.

usage: radflowd [options]

  --data-dir DIR       database, artifacts and attempt folders (default ./var)
  --listen HOST:PORT   address to serve on (default 127.0.0.1:8080; port 0 picks one)
  --plugin-dir DIR     folder of step plugins (default: the build's plugin folder)
  --data-root DIR      a folder path params ("format": "path") may point into; may be
                       given several times (default: DATA-DIR/data, created). Paths
                       outside every root, and relative paths, are refused at validation
  --no-confine         run workers without Landlock (debugging); by default each worker
                       may only read the data roots, its plugin folder, its inputs and
                       the system's files, and only write its step's folder
  --gpus auto|none|N|LIST
                       GPUs to schedule on: auto reads `nvidia-smi -L`; N means 0..N-1;
                       LIST is comma-separated indices like 0,2,3 (default auto)
  --cpus N             CPU slots for steps (default: every core)
  --grace-s SECONDS    SIGTERM -> SIGKILL delay when stopping attempts (default 10)
  --worker PATH        radflow-worker binary (default: beside radflowd)
  --log-level LEVEL    trace, debug, info, warn, error (default info)

Limits (each breach is refused with a JSON error naming the limit):
  --max-body-mib MIB   largest request body, chunked included (default 4)
  --http-threads N     HTTP worker threads (default 48)
  --max-streams N      open event streams and log follows, all clients (default 24)
  --max-streams-per-client N
                       the same, per client address (default 6)
  --max-ranks N        most worker processes one attempt may start (default 64)
  --max-log-mib MIB    log kept per attempt; the rest is dropped with a marker (default 64)

Workers get a clean environment: PATH, HOME, USER, LOGNAME, LANG, LC_*, TZ, TMPDIR,
LD_LIBRARY_PATH and the CUDA_, NCCL_, OMP_, GOMP_, MKL_, OPENBLAS_ and RADFLOW_
variables of the daemon's environment, nothing else.
  --pass-env NAMES     comma-separated further variables to pass on (e.g. HF_HOME,WANDB_DIR);
                       may be given several times

Security (SECURITY.md). With no token every request is allowed, so off loopback
radflowd refuses to start until one exists:
  --allowed-host NAME  a Host name clients may use besides 127.0.0.1, localhost and ::1
                       (DNS-rebinding defence); may be given several times
  --tls-cert FILE      serve HTTPS with this PEM certificate (chain) ...
  --tls-key FILE       ... and this PEM private key; both or neither

Tokens (run while radflowd runs or not; the same --data-dir):
  radflowd token create NAME --role viewer|submitter|admin
                       prints a new token once; only its sha256 is stored
  radflowd token list  names, roles, creation and revocation times
  radflowd token revoke NAME

  --version            print the version
  -h, --help           this help

Stop it with SIGTERM or Ctrl-C: running attempts are stopped and resume on restart.
)";
}

Result<DaemonOptions> parse_daemon_options(int argc, char** argv) {
  DaemonOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&](std::string* out) -> Status {
      if (i + 1 >= argc) return Status::error("bad_option", flag + " needs a value", flag);
      *out = argv[++i];
      return Status();
    };
    auto number = [&](double* out) -> Status {
      std::string text;
      RF_RETURN_IF_ERROR(value(&text));
      try {
        size_t used = 0;
        *out = std::stod(text, &used);
        if (used == text.size() && *out >= 0) return Status();
      } catch (...) {
      }
      return Status::error("bad_option", flag + " must be a non-negative number, got " + text, flag);
    };
    auto count = [&](int* out, int minimum) -> Status {
      double n = 0;
      RF_RETURN_IF_ERROR(number(&n));
      if (n >= minimum && n <= 1e6 && n == static_cast<int>(n)) {
        *out = static_cast<int>(n);
        return Status();
      }
      return Status::error("bad_option",
                           flag + " must be a whole number from " + std::to_string(minimum) +
                               " to 1000000",
                           flag);
    };
    auto positive = [&](double* out) -> Status {
      RF_RETURN_IF_ERROR(number(out));
      if (*out > 0) return Status();
      return Status::error("bad_option", flag + " must be greater than 0", flag);
    };
    std::string text;
    if (flag == "-h" || flag == "--help") {
      options.help = true;
    } else if (flag == "--version") {
      options.version = true;
    } else if (flag == "--data-dir") {
      RF_RETURN_IF_ERROR(value(&options.data_dir));
    } else if (flag == "--plugin-dir") {
      RF_RETURN_IF_ERROR(value(&options.plugin_dir));
    } else if (flag == "--data-root") {
      RF_RETURN_IF_ERROR(value(&text));
      if (text.empty()) return Status::error("bad_option", "--data-root needs a folder", flag);
      options.data_roots.push_back(text);
    } else if (flag == "--no-confine") {
      options.confine = false;
    } else if (flag == "--worker") {
      RF_RETURN_IF_ERROR(value(&options.worker_path));
    } else if (flag == "--gpus") {
      RF_RETURN_IF_ERROR(value(&options.gpus));
    } else if (flag == "--log-level") {
      RF_RETURN_IF_ERROR(value(&options.log_level));
    } else if (flag == "--cpus") {
      RF_RETURN_IF_ERROR(number(&options.cpus));
    } else if (flag == "--grace-s") {
      RF_RETURN_IF_ERROR(number(&options.grace_s));
    } else if (flag == "--max-body-mib") {
      RF_RETURN_IF_ERROR(positive(&options.max_body_mib));
    } else if (flag == "--max-log-mib") {
      RF_RETURN_IF_ERROR(positive(&options.max_log_mib));
    } else if (flag == "--http-threads") {
      RF_RETURN_IF_ERROR(count(&options.http_threads, 4));
    } else if (flag == "--max-streams") {
      RF_RETURN_IF_ERROR(count(&options.max_streams, 1));
    } else if (flag == "--max-streams-per-client") {
      RF_RETURN_IF_ERROR(count(&options.max_streams_per_client, 1));
    } else if (flag == "--max-ranks") {
      RF_RETURN_IF_ERROR(count(&options.max_ranks, 1));
    } else if (flag == "--allowed-host") {
      RF_RETURN_IF_ERROR(value(&text));
      options.allowed_hosts.push_back(text);
    } else if (flag == "--tls-cert") {
      RF_RETURN_IF_ERROR(value(&options.tls_cert));
    } else if (flag == "--tls-key") {
      RF_RETURN_IF_ERROR(value(&options.tls_key));
    } else if (flag == "--pass-env") {
      RF_RETURN_IF_ERROR(value(&text));
      std::stringstream names(text);
      for (std::string name; std::getline(names, name, ',');) {
        const bool valid = !name.empty() && name.find('=') == std::string::npos;
        if (!valid) {
          return Status::error("bad_option",
                               "--pass-env takes variable names separated by commas, got " + text,
                               flag);
        }
        options.pass_env.push_back(name);
      }
    } else if (flag == "--listen") {
      RF_RETURN_IF_ERROR(value(&text));
      auto colon = text.rfind(':');
      int port = -1;
      try {
        if (colon != std::string::npos) port = std::stoi(text.substr(colon + 1));
      } catch (...) {
      }
      if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535) {
        return Status::error("bad_option", "--listen must be HOST:PORT, got " + text, flag);
      }
      options.host = text.substr(0, colon);
      options.port = port;
    } else {
      return Status::error("bad_option", "unknown option " + flag + " (see radflowd --help)", flag);
    }
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return Status::error("bad_option", "--tls-cert and --tls-key go together; give both",
                         options.tls_cert.empty() ? "--tls-cert" : "--tls-key");
  }
  return options;
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

Result<std::vector<int>> resolve_gpus(const std::string& spec) {
  std::vector<int> gpus;
  if (spec == "none" || spec.empty()) return gpus;
  if (spec == "auto") {
    ProcessSpec probe;
    probe.argv = {"/usr/bin/env", "nvidia-smi", "-L"};
    auto run = run_captured(probe, 20);
    if (!run.ok() || run->exit.exit_code != 0) return gpus;  // no driver: no GPUs
    std::istringstream lines(run->out);
    std::string line;
    int index = 0;
    while (std::getline(lines, line)) {
      if (line.rfind("GPU ", 0) == 0) gpus.push_back(index++);
    }
    return gpus;
  }
  const bool is_list = spec.find(',') != std::string::npos;
  std::set<int> seen;
  std::stringstream parts(spec);
  std::string part;
  while (std::getline(parts, part, ',')) {
    int value = -1;
    try {
      size_t used = 0;
      value = std::stoi(part, &used);
      if (used != part.size()) value = -1;
    } catch (...) {
    }
    if (value < 0 || !seen.insert(value).second) {
      return Status::error("bad_option",
                           "--gpus must be auto, none, a count or a list of distinct indices "
                           "like 0,2,3; got " + spec, "--gpus");
    }
    gpus.push_back(value);
  }
  if (!is_list) {  // a count
    int count = gpus.front();
    gpus.clear();
    for (int i = 0; i < count; ++i) gpus.push_back(i);
  }
  return gpus;
}

}  // namespace radflow
