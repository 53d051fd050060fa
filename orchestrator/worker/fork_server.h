// radflow-worker --fork-server PLUGIN.so --plugin-dir DIR: a pre-started worker
// that has loaded one plugin library (and with it LibTorch, for the ML plugins) and
// forks a fresh worker for every attempt rank the daemon asks for, so the dynamic
// loader, the library's relocations and its static initialisers are paid once per
// library instead of once per rank.
//
// Each forked worker is what `radflow-worker --attempt SPEC` would be after exec:
// its own process group, fds 0-3 only (stdin /dev/null, then the daemon's stdout,
// stderr and events pipes), the environment the daemon sent and nothing else,
// umask 077, the attempt folder as its working directory, default signal
// dispositions, and SIGKILL when the server dies. It then runs the worker's
// --attempt path in process (the plugin is already mapped; dlopen only counts a
// reference). The daemon talks to the server over fd 3 (fork_protocol.h).
//
// Forking is only safe from a single-threaded process: if loading the plugin
// started a thread, the server refuses with code "threads_at_load" and the daemon
// starts that plugin's workers with exec as before.
//
// The server exits when the daemon hangs up and its last worker has ended (a
// worker must not lose its parent mid-attempt: it would be killed).
#pragma once

#include <string>

namespace radflow {

// `socket_fd` is the daemon's end (fd 3). `worker_entry` runs a forked worker's
// argv (worker_main). Returns the server's exit code.
int run_fork_server(const std::string& plugin_path, const std::string& plugin_dir, int socket_fd,
                    int (*worker_entry)(int argc, char** argv));

}  // namespace radflow
