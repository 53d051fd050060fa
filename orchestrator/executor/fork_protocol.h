// The wire between the daemon and a fork server (radflow-worker --fork-server):
// one SOCK_SEQPACKET socket pair, so each message arrives whole. A message is one
// JSON text plus up to kMaxForkFds file descriptors (SCM_RIGHTS).
//
//   server -> daemon, once:  {"ready": true} or {"error": {"code", "message"}}
//   daemon -> server:        {"argv": [...], "env": ["K=V", ...], "working_dir": "..."}
//                            with fds [stdout, stderr, events, exit] (write ends)
//   server -> daemon:        {"pid": N} or {"error": {"code", "message"}}
//
// When a forked worker ends, the server writes its ForkExit to that worker's exit
// fd and closes it; EOF without a record means the server died first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace radflow {

constexpr size_t kMaxForkFds = 4;
// Bigger than any argv plus allowlisted environment a worker gets.
constexpr size_t kMaxForkMessageBytes = 256 * 1024;

struct ForkMessage {
  std::string json;
  std::vector<int> fds;  // owned by the receiver: close them
};

// Sends one message; the fds stay owned by the caller.
Status send_fork_message(int socket, const std::string& json, const std::vector<int>& fds = {});
// Blocks for one message. Code "closed" when the peer hung up, "io_error" otherwise.
Result<ForkMessage> receive_fork_message(int socket);

// How a forked worker ended, as waitpid saw it; written raw to its exit fd.
struct ForkExit {
  int32_t exit_code = -1;  // valid when signal == 0
  int32_t signal = 0;
};

}  // namespace radflow
