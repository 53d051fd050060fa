// The daemon's side of radflow-worker --fork-server (worker/fork_server.h): one
// pre-started server per plugin library, which forks each worker rank instead of
// the daemon forking and exec'ing radflow-worker. A rank then starts without the
// exec, the dynamic loader and the plugin's load (LibTorch's alone is hundreds of
// milliseconds); isolation is unchanged: each rank is still its own process and
// process group with the same fds, environment, umask and folder.
//
// spawn_worker() is the one entry: with fork servers enabled it goes through the
// plugin's server, starting it on first use; where a server cannot be had (disabled,
// the plugin starts threads when loaded, the server died twice) it forks and execs
// as before, so a fork server is never the reason a step fails. A plugin library
// replaced on disk (another inode, size or mtime) gets a new server; the old one
// exits once its last worker has ended.
//
// Thread-safe.
#pragma once

#include <string>

#include "common/status.h"
#include "orchestrator/executor/process.h"

namespace radflow {

// Off by default; radflowd turns it on (--fork-server).
void set_fork_servers_enabled(bool enabled);
bool fork_servers_enabled();

// Starts `spec` (argv[0] radflow-worker, "--attempt", SPEC) for the plugin library
// at `plugin_path`: through its fork server when enabled, else ChildProcess::spawn.
Result<ChildProcess> spawn_worker(const ProcessSpec& spec, const std::string& plugin_path,
                                  const std::string& plugin_dir);

// Hangs up on every server (each exits after its last worker). For shutdown and tests.
void stop_fork_servers();

// How many servers there are and how ranks were started (for logs and tests).
struct ForkServerStats {
  int servers = 0;
  int64_t forked = 0;  // ranks started through a server
  int64_t execed = 0;  // ranks started with exec while servers were enabled
};
ForkServerStats fork_server_stats();

}  // namespace radflow
