#include "orchestrator/scheduler/attempt_recorder.h"

namespace radflow {

namespace {
constexpr auto kProgressEventInterval = std::chrono::milliseconds(250);
}

AttemptRecorder::AttemptRecorder(storage::Store* store, EventBus* bus, int64_t run_id,
                                 std::string step_name, int64_t step_id, int64_t attempt_id,
                                 std::function<void(const AttemptOutcome&)> on_finished,
                                 size_t max_log_bytes)
    : store_(store),
      bus_(bus),
      run_id_(run_id),
      step_name_(std::move(step_name)),
      step_id_(step_id),
      attempt_id_(attempt_id),
      on_finished_(std::move(on_finished)),
      max_log_bytes_(max_log_bytes) {}

namespace {

storage::LogRecord radflow_line(int64_t step_id, int64_t attempt_id, const std::string& message) {
  storage::LogRecord record;
  record.step_id = step_id;
  record.attempt_id = attempt_id;
  record.ts_ms = storage::now_ms();
  record.level = "warning";
  record.stream = "radflow";
  record.message = message;
  return record;
}

}  // namespace

void AttemptRecorder::on_finished(const AttemptOutcome& outcome) {
  if (dropped_lines_ > 0) {
    store_->append_logs({radflow_line(
        step_id_, attempt_id_,
        "log limit: " + std::to_string(dropped_lines_) + " more line(s) (" +
            std::to_string(dropped_bytes_) + " bytes) were dropped after the first " +
            std::to_string(max_log_bytes_) + " bytes of this attempt's log")});
  }
  on_finished_(outcome);
}

void AttemptRecorder::on_logs(std::vector<AttemptLogLine> lines) {
  std::vector<storage::LogRecord> records;
  records.reserve(lines.size());
  for (auto& line : lines) {
    if (logged_bytes_ >= max_log_bytes_) {
      ++dropped_lines_;
      dropped_bytes_ += line.message.size();
      continue;
    }
    logged_bytes_ += line.message.size();
    if (logged_bytes_ >= max_log_bytes_) {
      // The line that crosses the limit is kept; the marker follows it.
      logged_bytes_ = max_log_bytes_;
    }
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
    if (logged_bytes_ >= max_log_bytes_) {
      records.push_back(radflow_line(step_id_, attempt_id_,
                                     "log limit of " + std::to_string(max_log_bytes_) +
                                         " bytes reached: further lines of this attempt are "
                                         "dropped (their count follows at the end)"));
    }
  }
  if (!records.empty()) store_->append_logs(std::move(records));
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
