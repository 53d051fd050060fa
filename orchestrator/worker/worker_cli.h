// worker_main: the radflow-worker command line.
//
//   radflow-worker --describe PLUGIN.so [--plugin-dir DIR]
//       Prints the plugin's descriptor as one JSON object on stdout, exit 0; on any
//       failure prints {"error":{"code","message"}} on stdout, exit 2.
//   radflow-worker --attempt SPEC.json
//       Runs one rank of one step attempt (see attempt_spec.h), streaming JSON-line
//       events to the spec's events_fd; exit 0 succeeded, 1 failed, 3 cancelled.
//   radflow-worker --fork-server PLUGIN.so [--plugin-dir DIR]
//       Loads the plugin once and forks an --attempt worker per request from the
//       daemon on fd 3 (fork_server.h).
//   radflow-worker --help
//
// Installs process-wide signal handlers in --attempt mode (SIGTERM/SIGINT set the
// cancellation flag, SIGPIPE is ignored), so call it once, from main().
#pragma once

namespace radflow {

int worker_main(int argc, char** argv);

}  // namespace radflow
