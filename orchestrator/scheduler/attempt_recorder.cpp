#include "orchestrator/scheduler/attempt_recorder.h"

namespace radflow {

namespace {
constexpr auto kProgressEventInterval = std::chrono::milliseconds(250);
}

AttemptRecorder::AttemptRecorder(storage::Store* store, EventBus* bus, int64_t run_id,
                                 std::string step_name, int64_t step_id, int64_t attempt_id,
                                 std::function<void()> on_finished)
    : store_(store),
      bus_(bus),
      run_id_(run_id),
      step_name_(std::move(step_name)),
      step_id_(step_id),
      attempt_id_(attempt_id),
      on_finished_(std::move(on_finished)) {}

void AttemptRecorder::on_logs(std::vector<AttemptLogLine> lines) {
  std::vector<storage::LogRecord> records;
  records.reserve(lines.size());
  for (auto& line : lines) {
    storage::LogRecord record;
    record.step_id = step_id_;
    record.attempt_id = attempt_id_;
    record.ts_ms = line.ts_ms;
    record.level = std::move(line.level);
    record.stream = std::move(line.stream);
    // Ranks other than 0 are rare in logs; say which one spoke.
    record.message = line.rank == 0 ? std::move(line.message)
                                    : "[rank " + std::to_string(line.rank) + "] " + line.message;
    records.push_back(std::move(record));
  }
  store_->append_logs(std::move(records));
}

void AttemptRecorder::on_metrics(std::vector<AttemptMetric> points) {
  std::vector<storage::MetricPoint> records;
  records.reserve(points.size());
  for (auto& point : points) {
    if (point.rank != 0) continue;  // rank 0 speaks for the attempt; others duplicate it
    storage::MetricPoint record;
    record.step_id = step_id_;
    record.attempt_id = attempt_id_;
    record.name = std::move(point.name);
    record.iteration = point.iteration;
    record.value = point.value;
    records.push_back(std::move(record));
  }
  if (!records.empty()) store_->append_metrics(std::move(records));
}

void AttemptRecorder::on_progress(double fraction, const std::string& message) {
  store_->set_step_progress(step_id_, fraction, message);
  auto now = std::chrono::steady_clock::now();
  if (now - last_progress_event_ < kProgressEventInterval) return;
  last_progress_event_ = now;
  bus_->publish({{"type", "progress"},
                 {"run_id", run_id_},
                 {"step", step_name_},
                 {"fraction", fraction},
                 {"message", message}});
}

}  // namespace radflow
