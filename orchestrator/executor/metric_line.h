// The fast path of parse_event_line() (event_line.h) for the one event a worker sends
// by the million: a metric. It reads a flat JSON object straight from the line,
// without building a JSON document, but only when the line is simple enough that
// the answer is certainly the full parser's: printable ASCII strings without escapes,
// numbers in strict JSON grammar, the keys type, name, iteration, value and ts_ms at
// most once each, "type" equal to "metric". Anything else (escapes, non-ASCII bytes,
// other keys or types, nested values, numbers out of range, trailing bytes) returns
// nullopt and the caller runs the full parser, so every unusual or malformed line
// gets exactly the full parser's event or error.
//
// Pure function, no allocation but the name; safe from any thread.
#pragma once

#include <optional>
#include <string_view>

#include "orchestrator/executor/event_line.h"

namespace radflow {

// The kMetric event of `line` (without its newline), or nullopt when the line is not
// in the simple form above.
std::optional<WorkerEvent> parse_metric_line_fast(std::string_view line);

}  // namespace radflow
