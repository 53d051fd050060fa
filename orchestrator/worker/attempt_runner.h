// run_attempt: one rank of one step attempt, start to finish, inside the worker
// process: create output_dir, load and check the plugin, call run() once with an
// AttemptHost, and decide the outcome that becomes the "end" event.
//
// Outcome reasons: "ok"; a load_plugin code; "invalid_descriptor"; "invalid_spec";
// "plugin_failed" (RF_RUN_FAILED or an unknown return code); "plugin_exception";
// "cancelled" (RF_RUN_CANCELLED, or the cancellation flag was set);
// "missing_outputs" (rank 0's run returned OK without registering every declared,
// non-optional output; other ranks need not register outputs).
//
// Runs on the calling thread; a crashing plugin takes the process down with it, which
// is the point of running it in its own process.
#pragma once

#include <atomic>
#include <map>
#include <string>

#include "orchestrator/worker/attempt_spec.h"
#include "orchestrator/worker/event_sink.h"

namespace radflow {

enum class AttemptStatus { kSucceeded, kFailed, kCancelled };

struct AttemptOutcome {
  AttemptStatus status = AttemptStatus::kFailed;
  std::string reason;
  std::string message;
  std::map<std::string, std::string> outputs;  // registered outputs, when succeeded
  // sha256 of each output as the worker saw it (AttemptSpec::hash_outputs only).
  std::map<std::string, std::string> output_digests;

  // "succeeded", "failed" or "cancelled".
  std::string status_name() const;
  // The worker's exit code: 0 succeeded, 1 failed, 3 cancelled.
  int exit_code() const;
  nlohmann::json to_end_event() const;
  // What the worker leaves on disk for a daemon that may have died meanwhile:
  // {"end": <end event>, "outputs": {name: path}}, plus "output_digests":
  // {name: sha256} when the outputs were hashed.
  nlohmann::json to_result() const;
};

AttemptOutcome failed_outcome(const std::string& reason, const std::string& message);

// Emits log/metric/progress/output events on `sink` while running; the caller writes
// the end event (sink->close(outcome.to_end_event())).
AttemptOutcome run_attempt(const AttemptSpec& spec, EventSink* sink,
                           const std::atomic<int>* cancelled);

}  // namespace radflow
