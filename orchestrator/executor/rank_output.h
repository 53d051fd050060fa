// RankOutput: what one rank's worker said on its three pipes (stdout, stderr and
// the events channel on fd 3), turned into log lines, metrics, progress, outputs and
// the end event for the monitor (attempt.cpp).
//
// Everything that leaves a RankOutput is valid UTF-8 and bounded: a stdout or
// stderr line longer than kMaxOutputLineBytes is truncated once (never split), an
// event line longer than kMaxEventLineBytes is discarded with one warning naming its
// size, and event fields are cut as event_line.h says. Not thread-safe: the monitor
// thread owns it.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "orchestrator/executor/attempt.h"
#include "orchestrator/executor/event_line.h"
#include "orchestrator/executor/line_splitter.h"

namespace radflow {

enum class WorkerStream { kStdout = 0, kStderr = 1, kEvents = 2 };

constexpr size_t kMaxOutputLineBytes = 64 * 1024;
// Far above what a worker writes (it cuts its own fields to 64 KiB), so only a
// plugin writing to fd 3 itself gets here.
constexpr size_t kMaxEventLineBytes = 1024 * 1024;
constexpr size_t kStderrTailLines = 20;
constexpr size_t kStderrTailLineBytes = 1024;

// What the monitor gathered since it last called the AttemptSink.
struct SinkBatch {
  std::vector<AttemptLogLine> logs;
  std::vector<AttemptMetric> metrics;
  std::optional<std::pair<double, std::string>> progress;  // rank 0's latest
};

class RankOutput {
 public:
  explicit RankOutput(int rank);

  // Bytes read from one of the rank's pipes; the lines they complete go to `batch`.
  void append(WorkerStream stream, std::string_view bytes, SinkBatch* batch);
  // The pipe reached EOF: its last line, if unterminated, goes to `batch`.
  void finish(WorkerStream stream, SinkBatch* batch);

  // The "end" event, once the worker sent it.
  const std::optional<WorkerEvent>& end_event() const { return end_event_; }
  // The outputs the worker registered: name -> path.
  const std::map<std::string, std::string>& outputs() const { return outputs_; }
  // The last kStderrTailLines stderr lines, each cut to kStderrTailLineBytes, as
  // "\n  line" each; empty when there were none.
  std::string stderr_tail() const;

 private:
  void take_line(WorkerStream stream, const SplitLine& line, SinkBatch* batch);
  void take_event(const SplitLine& line, SinkBatch* batch);

  int rank_;
  LineSplitter splitters_[3];
  std::deque<std::string> stderr_tail_;
  std::optional<WorkerEvent> end_event_;
  std::map<std::string, std::string> outputs_;
};

// Milliseconds since the Unix epoch.
int64_t epoch_ms_now();

}  // namespace radflow
