#include "orchestrator/executor/rank_output.h"

#include <chrono>

#include "common/utf8.h"

namespace radflow {

int64_t epoch_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RankOutput::RankOutput(int rank)
    : rank_(rank),
      splitters_{LineSplitter(kMaxOutputLineBytes), LineSplitter(kMaxOutputLineBytes),
                 LineSplitter(kMaxEventLineBytes)} {}

void RankOutput::append(WorkerStream stream, std::string_view bytes, SinkBatch* batch) {
  for (const SplitLine& line : splitters_[static_cast<int>(stream)].append(bytes)) {
    take_line(stream, line, batch);
  }
}

void RankOutput::finish(WorkerStream stream, SinkBatch* batch) {
  if (auto last = splitters_[static_cast<int>(stream)].finish()) take_line(stream, *last, batch);
}

std::string RankOutput::stderr_tail() const {
  std::string tail;
  for (const auto& line : stderr_tail_) {
    tail += "\n  " + truncate_utf8(line, kStderrTailLineBytes);
  }
  return tail;
}

void RankOutput::take_line(WorkerStream stream, const SplitLine& line, SinkBatch* batch) {
  if (stream == WorkerStream::kEvents) {
    take_event(line, batch);
    return;
  }
  std::string text = line_text(line, kMaxOutputLineBytes);
  const bool is_stderr = stream == WorkerStream::kStderr;
  if (is_stderr) {
    stderr_tail_.push_back(truncate_utf8(text, kStderrTailLineBytes));
    if (stderr_tail_.size() > kStderrTailLines) stderr_tail_.pop_front();
  }
  batch->logs.push_back({rank_, epoch_ms_now(), is_stderr ? "warning" : "info",
                         is_stderr ? "stderr" : "stdout", std::move(text)});
}

void RankOutput::take_event(const SplitLine& line, SinkBatch* batch) {
  if (line.truncated() || line.size_bytes > kMaxEventLineBytes) {
    batch->logs.push_back({rank_, epoch_ms_now(), "warning", "radflow",
                           "discarded a worker event line of " + std::to_string(line.size_bytes) +
                               " bytes (the limit is " + std::to_string(kMaxEventLineBytes) +
                               " bytes)"});
    return;
  }
  WorkerEvent event = parse_event_line(line.head);
  switch (event.type) {
    case WorkerEventType::kLog:
      batch->logs.push_back({rank_, event.ts_ms != 0 ? event.ts_ms : epoch_ms_now(),
                             std::move(event.level), "plugin", std::move(event.message)});
      break;
    case WorkerEventType::kMetric:
      batch->metrics.push_back({rank_, std::move(event.name), event.iteration, event.value});
      break;
    case WorkerEventType::kProgress:
      if (rank_ == 0) batch->progress = std::make_pair(event.fraction, std::move(event.message));
      break;
    case WorkerEventType::kOutput:
      outputs_[event.name] = event.path;
      break;
    case WorkerEventType::kEnd:
      end_event_ = std::move(event);
      break;
    case WorkerEventType::kUnparseable:
      batch->logs.push_back({rank_, epoch_ms_now(), "warning", "radflow", std::move(event.message)});
      break;
  }
}

}  // namespace radflow
