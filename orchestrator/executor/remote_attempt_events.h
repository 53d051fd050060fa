// RemoteAttemptEvents: where the API's POST /api/v1/attempts/{id}/events hands the
// event lines a remote worker posted (docs/api.md). Implemented by executors whose
// workers cannot write to a pipe of the daemon's (slurm_executor.h).
//
// Each attempt has its own token, made when it starts and valid only while it runs:
// it authenticates this route and no other (it is not a user token), and a late
// post from a finished attempt is refused. Thread-safe: called from HTTP threads.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace radflow {

class RemoteAttemptEvents {
 public:
  virtual ~RemoteAttemptEvents() = default;
  // `lines`: complete JSON event lines of rank `rank` (event_line.h), in the
  // order the worker wrote them. Fails with "invalid_token" when no running attempt
  // has this id and token (the route answers 401; a restarted daemon that has not
  // recovered the attempt yet says so too, and the worker tries again), or
  // "invalid_request" for a rank out of range (400).
  virtual Status deliver_events(int64_t attempt_id, std::string_view token, int rank,
                                std::string_view lines) = 0;
  // The same token check alone, so that a request is refused for its credential
  // before its body is looked at.
  virtual Status check_token(int64_t attempt_id, std::string_view token) = 0;
};

}  // namespace radflow
