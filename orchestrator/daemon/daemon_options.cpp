#include "orchestrator/daemon/daemon_options.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>
#include <variant>

#include "orchestrator/executor/process.h"
#include "orchestrator/workflow/json_schema.h"

namespace radflow {

namespace {

using nlohmann::json;

// How a setting's value is read. Flags give text; the config file gives JSON, which
// must already have the right type (the string "4" is not a number there).
enum class Kind {
  kText,      // a string
  kLogLevel,  // a string from a fixed set
  kGpus,      // a string checked by resolve_gpus (auto is probed only at start)
  kExecutor,  // "local" or "slurm"
  kNumber,    // double >= 0
  kPositive,  // double > 0
  kCount,     // whole number >= minimum
  kList,      // repeatable flag; config: array of strings
  kNames,     // like kList, each flag value comma-separated variable names
  kSwitch,    // flag without value sets the field to `switch_sets`; config: boolean
  kListen,    // HOST:PORT into host and port
};

using Field = std::variant<std::monostate, std::string DaemonOptions::*, double DaemonOptions::*,
                           int DaemonOptions::*, std::vector<std::string> DaemonOptions::*,
                           bool DaemonOptions::*>;

struct Setting {
  DaemonOption option;
  Kind kind;
  Field field;
  int minimum = 0;           // kCount
  bool switch_sets = false;  // kSwitch
};

const std::vector<Setting>& settings() {
  using O = DaemonOptions;
  static const std::vector<Setting> table = {
      {{"--data-dir", "data_dir", "DIR", "", "database, artifacts and attempt folders (default ./var)"},
       Kind::kText, &O::data_dir},
      {{"--listen", "listen", "HOST:PORT", "",
        "address to serve on (default 127.0.0.1:8080; port 0 picks one)"},
       Kind::kListen, {}},
      {{"--plugin-dir", "plugin_dir", "DIR", "",
        "folder of step plugins (default: ../lib/radflow/plugins from radflowd's\n"
        "folder when that exists, as installed; else the build's plugin folder)"},
       Kind::kText, &O::plugin_dir},
      {{"--data-root", "data_roots", "DIR", "",
        "a folder path params (\"format\": \"path\") may point into; may be\n"
        "given several times (default: DATA-DIR/data, created). Paths\n"
        "outside every root, and relative paths, are refused at validation"},
       Kind::kList, &O::data_roots},
      {{"--no-confine", "confine", "", "",
        "run workers without Landlock (debugging; config: \"confine\": false);\n"
        "by default each worker may only read the data roots, its plugin\n"
        "folder, its inputs and the system's files, and only write its step's folder"},
       Kind::kSwitch, &O::confine, 0, false},
      {{"--no-fork-server", "fork_server", "", "",
        "start every worker with fork and exec (config: \"fork_server\": false);\n"
        "by default one pre-started worker per plugin library forks each rank,\n"
        "so the plugin (LibTorch included) is loaded once, not once per rank"},
       Kind::kSwitch, &O::fork_server, 0, false},
      {{"--gpus", "gpus", "auto|none|N|LIST", "",
        "GPUs to schedule on: auto reads `nvidia-smi -L`; N means 0..N-1;\n"
        "LIST is comma-separated indices like 0,2,3 (default auto)"},
       Kind::kGpus, &O::gpus},
      {{"--cpus", "cpus", "N", "", "CPU slots for steps (default: every core)"}, Kind::kNumber,
       &O::cpus},
      {{"--grace-s", "grace_s", "SECONDS", "",
        "SIGTERM -> SIGKILL delay when stopping attempts (default 10)"},
       Kind::kNumber, &O::grace_s},
      {{"--worker", "worker", "PATH", "", "radflow-worker binary (default: beside radflowd)"},
       Kind::kText, &O::worker_path},
      {{"--log-level", "log_level", "LEVEL", "",
        "trace, debug, info, warn, error, critical or off (default info)"},
       Kind::kLogLevel, &O::log_level},
      {{"--max-body-mib", "max_body_mib", "MIB", "limits",
        "largest request body, chunked included (default 4)"},
       Kind::kPositive, &O::max_body_mib},
      {{"--http-threads", "http_threads", "N", "limits", "HTTP worker threads (default 48)"},
       Kind::kCount, &O::http_threads, 4},
      {{"--max-streams", "max_streams", "N", "limits",
        "open event streams and log follows, all clients (default 24)"},
       Kind::kCount, &O::max_streams, 1},
      {{"--max-streams-per-client", "max_streams_per_client", "N", "limits",
        "the same, per client address (default 6)"},
       Kind::kCount, &O::max_streams_per_client, 1},
      {{"--max-ranks", "max_ranks", "N", "limits",
        "most worker processes one attempt may start (default 64)"},
       Kind::kCount, &O::max_ranks, 1},
      {{"--max-log-mib", "max_log_mib", "MIB", "limits",
        "log kept per attempt; the rest is dropped with a marker (default 64)"},
       Kind::kPositive, &O::max_log_mib},
      {{"--pass-env", "pass_env", "NAMES", "env",
        "comma-separated further variables to pass on (e.g. HF_HOME,WANDB_DIR);\n"
        "may be given several times"},
       Kind::kNames, &O::pass_env},
      {{"--allowed-host", "allowed_hosts", "NAME", "security",
        "a Host name clients may use besides 127.0.0.1, localhost and ::1\n"
        "(DNS-rebinding defence); may be given several times"},
       Kind::kList, &O::allowed_hosts},
      {{"--tls-cert", "tls_cert", "FILE", "security",
        "serve HTTPS with this PEM certificate (chain) ..."},
       Kind::kText, &O::tls_cert},
      {{"--tls-key", "tls_key", "FILE", "security",
        "... and this PEM private key; both or neither"},
       Kind::kText, &O::tls_key},
      {{"--executor", "executor", "local|slurm", "slurm",
        "where steps run unless a step says \"executor\" (default local)"},
       Kind::kExecutor, &O::executor},
      {{"--slurm-partition", "slurm_partition", "NAME", "slurm",
        "partition of every Slurm job (default: the cluster's default)"},
       Kind::kText, &O::slurm_partition},
      {{"--slurm-account", "slurm_account", "NAME", "slurm", "account every Slurm job is charged to"},
       Kind::kText, &O::slurm_account},
      {{"--slurm-sbatch-arg", "slurm_sbatch_args", "ARG", "slurm",
        "one more sbatch option, as it is (a QoS, a constraint); may be given\n"
        "several times"},
       Kind::kList, &O::slurm_sbatch_args},
      {{"--slurm-report-url", "slurm_report_url", "URL", "slurm",
        "this daemon's URL as the nodes reach it, for the workers' events\n"
        "(default: http://HOST:PORT of --listen; its host is an allowed Host)"},
       Kind::kText, &O::slurm_report_url},
      {{"--slurm-poll-s", "slurm_poll_s", "SECONDS", "slurm",
        "how often squeue is asked about running jobs (default 1)"},
       Kind::kPositive, &O::slurm_poll_s},
  };
  return table;
}

// Where a value came from, for messages: the flag, or the config file and key.
struct Source {
  bool from_flag = true;
  std::string name;  // "--max-ranks" or "max_ranks"
  std::string file;  // the config file
  std::string where() const {
    return from_flag ? name : "key \"" + name + "\" of the config file " + file;
  }
  Status bad(const std::string& expected, const json& got) const {
    const std::string shown = from_flag && got.is_string() ? got.get<std::string>()
                                                           : describe_json_value(got);
    return Status::error("bad_option", where() + " must be " + expected + ", got " + shown,
                         from_flag ? name : "/" + name);
  }
};

// A flag's text as the number it must be; config values must be JSON numbers.
bool to_number(const json& value, const Source& source, double* out) {
  if (value.is_number()) {
    *out = value.get<double>();
    return true;
  }
  if (!source.from_flag || !value.is_string()) return false;
  const std::string text = value.get<std::string>();
  try {
    size_t used = 0;
    *out = std::stod(text, &used);
    return used == text.size() && !text.empty();
  } catch (...) {
    return false;
  }
}

Status apply_listen(const json& value, const Source& source, DaemonOptions* options) {
  if (!value.is_string()) return source.bad("HOST:PORT as a string", value);
  const std::string text = value.get<std::string>();
  const auto colon = text.rfind(':');
  int port = -1;
  try {
    size_t used = 0;
    if (colon != std::string::npos) port = std::stoi(text.substr(colon + 1), &used);
    if (colon != std::string::npos && used != text.size() - colon - 1) port = -1;
  } catch (...) {
  }
  if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535) {
    return source.bad("HOST:PORT", value);
  }
  options->host = text.substr(0, colon);
  options->port = port;
  return Status();
}

// Appends one flag value or replaces the list with the config's array.
Status apply_list(const Setting& setting, const json& value, const Source& source,
                  std::vector<std::string>* list) {
  std::vector<std::string> items;
  const bool names = setting.kind == Kind::kNames;
  const char* expected = names ? "an array of environment variable names"
                               : "an array of non-empty strings";
  if (source.from_flag) {
    std::stringstream parts(value.get<std::string>());
    if (!names) {
      items.push_back(value.get<std::string>());
    } else {
      for (std::string name; std::getline(parts, name, ',');) items.push_back(name);
      if (items.empty()) items.push_back("");
    }
  } else {
    if (!value.is_array()) return source.bad(expected, value);
    for (const auto& item : value) {
      if (!item.is_string()) return source.bad(expected, value);
      items.push_back(item.get<std::string>());
    }
    list->clear();
  }
  for (const auto& item : items) {
    const bool valid = !item.empty() && (!names || item.find('=') == std::string::npos);
    if (!valid) {
      return source.bad(names ? "variable names separated by commas" : "a non-empty value",
                        value);
    }
    list->push_back(item);
  }
  return Status();
}

Status apply(const Setting& setting, const json& value, const Source& source,
             DaemonOptions* options) {
  double number = 0;
  switch (setting.kind) {
    case Kind::kListen:
      return apply_listen(value, source, options);
    case Kind::kText:
    case Kind::kLogLevel:
    case Kind::kExecutor:
    case Kind::kGpus: {
      if (!value.is_string()) return source.bad("a string", value);
      const std::string text = value.get<std::string>();
      static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                    "error", "critical", "off"};
      if (setting.kind == Kind::kLogLevel && kLevels.count(text) == 0) {
        return source.bad("trace, debug, info, warn, error, critical or off", value);
      }
      if (setting.kind == Kind::kExecutor && text != "local" && text != "slurm") {
        return source.bad("local or slurm", value);
      }
      if (setting.kind == Kind::kGpus && text != "auto" && !resolve_gpus(text).ok()) {
        return source.bad("auto, none, a count or a list of distinct indices like 0,2,3", value);
      }
      options->*std::get<std::string DaemonOptions::*>(setting.field) = text;
      return Status();
    }
    case Kind::kNumber:
    case Kind::kPositive: {
      const bool positive = setting.kind == Kind::kPositive;
      if (!to_number(value, source, &number) || number < 0 || (positive && number == 0)) {
        return source.bad(positive ? "a number greater than 0" : "a non-negative number", value);
      }
      options->*std::get<double DaemonOptions::*>(setting.field) = number;
      return Status();
    }
    case Kind::kCount: {
      if (!to_number(value, source, &number) || number < setting.minimum || number > 1e6 ||
          number != static_cast<int>(number)) {
        return source.bad("a whole number from " + std::to_string(setting.minimum) +
                              " to 1000000",
                          value);
      }
      options->*std::get<int DaemonOptions::*>(setting.field) = static_cast<int>(number);
      return Status();
    }
    case Kind::kList:
    case Kind::kNames:
      return apply_list(setting, value, source,
                        &(options->*std::get<std::vector<std::string> DaemonOptions::*>(
                                         setting.field)));
    case Kind::kSwitch:
      if (!value.is_boolean()) return source.bad("true or false", value);
      options->*std::get<bool DaemonOptions::*>(setting.field) = value.get<bool>();
      return Status();
  }
  return Status();
}

Status check_together(const DaemonOptions& options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return Status::error("bad_option",
                         "--tls-cert and --tls-key (config tls_cert and tls_key) go together; "
                         "give both",
                         options.tls_cert.empty() ? "--tls-cert" : "--tls-key");
  }
  return Status();
}

Status read_config_file(const std::string& file, DaemonOptions* options) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Status::error("bad_option", "cannot read the config file " + file, "--config");
  }
  std::stringstream text;
  text << in.rdbuf();
  return apply_daemon_config(text.str(), file, options);
}

}  // namespace

const std::vector<DaemonOption>& daemon_option_table() {
  static const std::vector<DaemonOption> options = [] {
    std::vector<DaemonOption> out;
    for (const auto& s : settings()) out.push_back(s.option);
    return out;
  }();
  return options;
}

std::string daemon_settings_json(const DaemonOptions& options) {
  json out = json::object();
  for (const auto& s : settings()) {
    if (s.kind == Kind::kListen) {
      out[s.option.key] = options.host + ":" + std::to_string(options.port);
      continue;
    }
    std::visit(
        [&](auto field) {
          if constexpr (!std::is_same_v<decltype(field), std::monostate>) {
            out[s.option.key] = options.*field;
          }
        },
        s.field);
  }
  return out.dump(2);
}

Status apply_daemon_config(const std::string& text, const std::string& file,
                           DaemonOptions* options) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::error("bad_config",
                         "the config file " + file +
                             " must be one JSON object of settings (// and /* */ comments "
                             "allowed); see radflowd --help for the keys",
                         "--config");
  }
  for (const auto& [key, value] : doc.items()) {
    const Setting* found = nullptr;
    for (const auto& s : settings()) {
      if (key == s.option.key) found = &s;
    }
    if (found == nullptr) {
      std::string keys;
      for (const auto& s : settings()) keys += std::string(keys.empty() ? "" : ", ") + s.option.key;
      return Status::error("bad_config",
                           "unknown key \"" + key + "\" in the config file " + file +
                               " (known keys: " + keys + ")",
                           "/" + key);
    }
    Source source{false, key, file};
    if (Status s = apply(*found, value, source, options); !s.ok()) {
      return Status::error("bad_config", s.message(), s.err().path);
    }
  }
  return Status();
}

Result<DaemonOptions> parse_daemon_options(int argc, char** argv) {
  DaemonOptions options;
  // The file first, wherever --config stands, so that every flag wins over it.
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) != "--config") continue;
    if (i + 1 >= argc) return Status::error("bad_option", "--config needs a value", "--config");
    options.config_file = argv[i + 1];
    RF_RETURN_IF_ERROR(read_config_file(options.config_file, &options));
  }
  std::set<const Setting*> lists_from_flags;  // a list flag replaces the file's list
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      options.help = true;
      continue;
    }
    if (flag == "--version") {
      options.version = true;
      continue;
    }
    if (flag == "--check-config") {
      options.check_config = true;
      continue;
    }
    if (flag == "--config") {
      ++i;
      continue;
    }
    const Setting* found = nullptr;
    for (const auto& s : settings()) {
      if (flag == s.option.flag) found = &s;
    }
    if (found == nullptr) {
      return Status::error("bad_option", "unknown option " + flag + " (see radflowd --help)", flag);
    }
    json value = found->switch_sets;
    if (found->kind != Kind::kSwitch) {
      if (i + 1 >= argc) return Status::error("bad_option", flag + " needs a value", flag);
      value = argv[++i];
    }
    const bool list = found->kind == Kind::kList || found->kind == Kind::kNames;
    if (list && lists_from_flags.insert(found).second) {
      (options.*std::get<std::vector<std::string> DaemonOptions::*>(found->field)).clear();
    }
    RF_RETURN_IF_ERROR(apply(*found, value, Source{true, flag, ""}, &options));
  }
  RF_RETURN_IF_ERROR(check_together(options));
  return options;
}

std::string daemon_usage() {
  std::string out = R"(radflowd: runs radflow workflows and serves the API and dashboard.

usage: radflowd [--config FILE] [options]

  --config FILE        read the settings from FILE first (JSON: one object whose keys
                       are the config keys below; // and /* */ comments allowed).
                       Flags win over the file; a repeatable flag replaces the file's list
  --check-config       check the config file and flags (values, folders, the worker,
                       TLS files), print the settings, and exit: 0 valid, 2 not
)";
  const std::map<std::string, std::string> headings = {
      {"limits", "\nLimits (each breach is refused with a JSON error naming the limit):\n"},
      {"env",
       "\nWorkers get a clean environment: PATH, HOME, USER, LOGNAME, LANG, LC_*, TZ, TMPDIR,\n"
       "LD_LIBRARY_PATH and the CUDA_, NCCL_, OMP_, GOMP_, MKL_, OPENBLAS_ and RADFLOW_\n"
       "variables of the daemon's environment, nothing else.\n"},
      {"security",
       "\nSecurity (SECURITY.md). With no token every request is allowed, so off loopback\n"
       "radflowd refuses to start until one exists:\n"},
      {"slurm",
       "\nSlurm (docs/slurm.md): each attempt of a step that runs on Slurm is one batch job;\n"
       "the data dir and plugin folder must be on a filesystem the nodes share.\n"}};
  std::string section;
  for (const auto& s : settings()) {
    const DaemonOption& o = s.option;
    if (o.section != section) {
      section = o.section;
      out += headings.at(section);
    }
    std::string head = std::string("  ") + o.flag + (*o.arg ? std::string(" ") + o.arg : "");
    head += "  [" + std::string(o.key) + "]";
    std::string help = o.help;
    std::string indented;
    for (char c : help) indented += c == '\n' ? std::string("\n                       ") : std::string(1, c);
    out += head + "\n                       " + indented + "\n";
  }
  out += R"(
[key] is the setting's key in the config file: strings, numbers and booleans as
JSON ("max_ranks": 16, "confine": false), repeatable flags as arrays
("data_roots": ["/data", "/models"]), --listen as "listen": "HOST:PORT".

Tokens (run while radflowd runs or not; the same --data-dir):
  radflowd token create NAME --role viewer|submitter|admin
                       prints a new token once; only its sha256 is stored
  radflowd token list  names, roles, creation and revocation times
  radflowd token revoke NAME

  --version            print the version
  -h, --help           this help

Stop it with SIGTERM or Ctrl-C: running attempts are stopped and resume on restart.
)";
  return out;
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
