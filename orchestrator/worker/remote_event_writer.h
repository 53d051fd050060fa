// The events channel of a worker that runs away from the daemon (a Slurm task):
// batches of event lines (event_sink.h, the same lines fd 3 would carry) posted as
// {"rank", "lines"} to $RADFLOW_EVENTS_URL with "Authorization: Bearer
// $RADFLOW_EVENTS_TOKEN", the attempt's own token (docs/slurm.md). The Slurm
// executor's batch script sets both; $RADFLOW_CACERT names the CA of an https daemon.
//
// A failed post (daemon unreachable, restarting, 5xx, or 401: a restarted daemon
// refuses the token until it has taken the attempt back) is retried with backoff for
// up to kRetryWindow, so a daemon restart does not cost events; any other 4xx is final. Not thread-safe: EventSink's
// flusher is its one caller.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace radflow {

// Takes one batch of complete lines; false once events can no longer be delivered.
using EventBatchWriter = std::function<bool(const std::string& lines)>;

constexpr std::chrono::seconds kRetryWindow{60};

// The writer for rank `rank`, or an empty function when RADFLOW_EVENTS_URL is unset
// (events then go to the spec's events fd).
EventBatchWriter remote_event_writer_from_env(int rank);

}  // namespace radflow
