// Parsing one line of a worker's events channel (fd 3) into a typed event. The
// worker writes one JSON object per line (orchestrator/worker/event_sink.h):
//
//   {"type":"log", "level", "message", "ts_ms"}
//   {"type":"metric", "name", "iteration", "value"}     value: number, "nan", "inf", "-inf"
//   {"type":"progress", "fraction", "message", "ts_ms"}
//   {"type":"output", "name", "path"}
//   {"type":"end", "status", "reason", "message"}
//
// The line comes from a process that runs plugin code, so it may hold any bytes.
// Contract, for every input: no exception, no crash, and every string in the result
// is valid UTF-8 (ill-formed bytes become U+FFFD, also inside the line before it is
// parsed) no longer than the limits below. Fields of the wrong JSON type get their
// defaults; anything that is not an object with a known "type" is kUnparseable.
//
// Plain metric lines, as the worker writes them, take a fast path that reads them
// without a JSON document (metric_line.h) and gives the same event; every other
// line goes through the JSON parser.
//
// Pure functions, no I/O and no clock; safe from any thread. A libFuzzer target can
// call parse_event_line() on its raw input directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace radflow {

enum class WorkerEventType { kLog, kMetric, kProgress, kOutput, kEnd, kUnparseable };

struct WorkerEvent {
  WorkerEventType type = WorkerEventType::kUnparseable;
  std::string level;       // log: debug, info, warning or error (default info)
  std::string message;     // log, progress, end; kUnparseable: what was wrong, with
                           // the start of the line
  std::string name;        // metric, output
  std::string path;        // output
  std::string status;      // end: succeeded, failed or cancelled (default failed)
  std::string reason;      // end (default worker_exited)
  int64_t ts_ms = 0;       // log, progress: the worker's clock; 0 when absent
  int64_t iteration = 0;   // metric
  double value = 0;        // metric: NaN when absent or not a number
  double fraction = 0;     // progress, clamped to [0, 1]; non-finite becomes 0
};

// Longest message kept (log, progress, end, unparseable); longer ones are cut at a
// code point boundary and end in " [truncated]".
constexpr size_t kMaxEventMessageBytes = 64 * 1024;
// Longest name, path, status, reason or level kept; longer ones are cut the same way.
constexpr size_t kMaxEventFieldBytes = 4096;
// How much of an unparseable line its kUnparseable message quotes.
constexpr size_t kUnparseableQuoteBytes = 200;

// One line of the events channel, without its trailing newline.
WorkerEvent parse_event_line(std::string_view line);

// The same for a JSON value already parsed (an end event read back from a
// rank-<r>.result.json file, say).
WorkerEvent parse_event(const nlohmann::json& event);

}  // namespace radflow
