// libFuzzer target: one line of a worker's events channel -> parse_event_line()
// (orchestrator/executor/event_line.h). Checks the header's contract for every input:
// no exception; every string of the result is valid UTF-8 and within its limit;
// fraction in [0, 1]. A line that parses as a JSON object is also run through
// parse_event() and must give the same event; a line the metric fast path
// (metric_line.h) takes must be such a line, and give that same event.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/utf8.h"
#include "orchestrator/executor/event_line.h"
#include "orchestrator/executor/metric_line.h"
#include "tests/fuzz/fuzz_input_file.h"

namespace {

using radflow::fuzz::fail;

void check_text(const std::string& text, size_t max_bytes, const char* field) {
  if (!radflow::is_valid_utf8(text)) fail(std::string(field) + " is not valid UTF-8");
  if (text.size() > max_bytes) {
    fail(std::string(field) + " has " + std::to_string(text.size()) + " bytes, limit " +
         std::to_string(max_bytes));
  }
}

bool same(const radflow::WorkerEvent& a, const radflow::WorkerEvent& b) {
  auto same_double = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
  return a.type == b.type && a.level == b.level && a.message == b.message && a.name == b.name &&
         a.path == b.path && a.status == b.status && a.reason == b.reason &&
         a.ts_ms == b.ts_ms && a.iteration == b.iteration && same_double(a.value, b.value) &&
         same_double(a.fraction, b.fraction);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const radflow::WorkerEvent event = radflow::parse_event_line(line);
  // The limits include the " [truncated]" marker (truncate_utf8 in common/utf8.h).
  check_text(event.message, radflow::kMaxEventMessageBytes, "message");
  for (const auto* field : {&event.level, &event.name, &event.path, &event.status, &event.reason}) {
    check_text(*field, radflow::kMaxEventFieldBytes, "a name/path/status/reason/level");
  }
  if (!(event.fraction >= 0 && event.fraction <= 1)) fail("fraction outside [0, 1]");

  auto json = nlohmann::json::parse(line, nullptr, false);
  if (json.is_object() && radflow::is_valid_utf8(line)) {
    if (!same(event, radflow::parse_event(json))) fail("parse_event_line != parse_event");
  }
  if (const auto fast = radflow::parse_metric_line_fast(line)) {
    if (!json.is_object()) fail("the metric fast path took a line the JSON parser rejects");
    if (!same(*fast, radflow::parse_event(json))) fail("parse_metric_line_fast != parse_event");
  }
  return 0;
}
