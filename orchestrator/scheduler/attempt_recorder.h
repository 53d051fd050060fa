// AttemptRecorder: the AttemptSink that writes one attempt's logs, metrics and
// progress to the store (fire-and-forget, batched by the store's writer) and
// announces progress on the event bus, at most a few times a second.
//
// An attempt may log at most `max_log_bytes` (message bytes): past that, one
// marker line says the log was cut, the rest is counted and dropped, and a last
// line at the end of the attempt says how much. A chatty plugin cannot fill the
// disk or stall other clients.
//
// Called from the attempt's monitor thread only.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "orchestrator/executor/attempt.h"
#include "orchestrator/scheduler/event_bus.h"
#include "storage/store.h"

namespace radflow {

class AttemptRecorder : public AttemptSink {
 public:
  // `on_finished` runs on the monitor thread when the attempt ends, with its
  // outcome (the scheduler takes the outputs in there, then wakes up at once).
  AttemptRecorder(storage::Store* store, EventBus* bus, int64_t run_id, std::string step_name,
                  int64_t step_id, int64_t attempt_id,
                  std::function<void(const AttemptOutcome&)> on_finished,
                  size_t max_log_bytes = 64u << 20);

  void on_logs(std::vector<AttemptLogLine> lines) override;
  void on_metrics(std::vector<AttemptMetric> points) override;
  void on_progress(double fraction, const std::string& message) override;
  void on_finished(const AttemptOutcome& outcome) override;

 private:
  storage::Store* store_;
  EventBus* bus_;
  const int64_t run_id_;
  const std::string step_name_;
  const int64_t step_id_;
  const int64_t attempt_id_;
  const std::function<void(const AttemptOutcome&)> on_finished_;
  std::chrono::steady_clock::time_point last_progress_event_{};
  const size_t max_log_bytes_;
  size_t logged_bytes_ = 0;
  uint64_t dropped_lines_ = 0;
  uint64_t dropped_bytes_ = 0;
};

}  // namespace radflow
