// radflowd's settings, read from a config file (--config FILE, JSON) and from flags
// through ONE table of options (daemon_option_table()): every setting has a flag and
// a config key, so neither can hold a setting the other lacks. Flags win over the
// file; a repeatable flag (--data-root) given once replaces the file's whole list.
// Errors name the flag, or the file and key, and say what is expected.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace radflow {

struct DaemonOptions {
  std::string data_dir = "var";
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string plugin_dir;   // default: the build's plugin folder
  std::string worker_path;  // default: radflow-worker beside radflowd
  std::vector<std::string> data_roots;  // --data-root, repeatable; none: <data_dir>/data
  bool confine = true;                  // Landlock the workers; --no-confine turns it off
  bool fork_server = true;  // fork ranks from a per-plugin server; --no-fork-server turns it off
  std::string gpus = "auto";
  double cpus = 0;          // 0: every core
  double grace_s = 10;
  std::string log_level = "info";
  double max_body_mib = 4;           // request bodies (413 beyond)
  int http_threads = 48;
  int max_streams = 24;              // event streams + log follows, all clients
  int max_streams_per_client = 6;
  int max_ranks = 64;                // per attempt
  double max_log_mib = 64;           // per attempt; the rest is dropped with a marker
  std::vector<std::string> pass_env;  // extra variables workers inherit (--pass-env)
  std::vector<std::string> allowed_hosts;  // --allowed-host: Host names beyond loopback's
  std::string tls_cert;              // --tls-cert and --tls-key: serve HTTPS
  std::string tls_key;
  // Where steps run unless they choose (docs/slurm.md): "local" or "slurm".
  std::string executor = "local";
  std::string slurm_partition;                 // --partition of every job; "" = default
  std::string slurm_account;                   // --account
  std::vector<std::string> slurm_sbatch_args;  // more sbatch options, as they are
  // The daemon's URL as Slurm's nodes reach it; "": http(s)://<listen address>.
  std::string slurm_report_url;
  double slurm_poll_s = 1;  // how often squeue is asked about the jobs
  // Not settings: what to do.
  std::string config_file;  // --config FILE: read first, then the flags
  bool check_config = false;  // --check-config: validate everything, then exit
  bool help = false;
  bool version = false;
};

// One setting: its flag, its config key and how its value is read.
struct DaemonOption {
  const char* flag;     // "--max-ranks"
  const char* key;      // "max_ranks": the config file's key
  const char* arg;      // "N" in --help; "" for a switch (no value)
  const char* section;  // --help groups options by section
  const char* help;     // one or more lines for --help
};

// Every setting radflowd has, in --help order.
const std::vector<DaemonOption>& daemon_option_table();

// Reads --config FILE first (when given), then every flag over it.
Result<DaemonOptions> parse_daemon_options(int argc, char** argv);
// Applies the JSON config text `text` (from `file`, for messages) to `options`.
// A JSON object, // and /* */ comments allowed; unknown keys, wrong types and bad
// values are refused naming the key.
Status apply_daemon_config(const std::string& text, const std::string& file,
                           DaemonOptions* options);
// The settings as a config file would hold them (every key), pretty-printed JSON:
// what --check-config prints, and a file radflowd --config reads back unchanged.
std::string daemon_settings_json(const DaemonOptions& options);
// 127.0.0.1 (any 127.x), localhost and ::1: only this machine can connect.
bool is_loopback_host(const std::string& host);
std::string daemon_usage();

// "auto" (nvidia-smi -L where present, else none), "none", a count "N" (0..N-1), or a
// list "0,2,3". Errors name the --gpus value.
Result<std::vector<int>> resolve_gpus(const std::string& spec);

}  // namespace radflow
