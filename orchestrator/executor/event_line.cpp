#include "orchestrator/executor/event_line.h"

#include <cmath>
#include <limits>

#include "common/utf8.h"
#include "orchestrator/executor/metric_line.h"

namespace radflow {
namespace {

// nlohmann's value() throws when a field has another type; a worker event must not.
std::string text_field(const nlohmann::json& event, const char* key, std::string fallback,
                       size_t max_bytes) {
  auto it = event.find(key);
  if (it == event.end() || !it->is_string()) return fallback;
  return truncate_utf8(to_valid_utf8(it->get_ref<const std::string&>()), max_bytes);
}

int64_t integer_field(const nlohmann::json& event, const char* key) {
  auto it = event.find(key);
  if (it == event.end()) return 0;
  if (it->is_number_integer() && !it->is_number_unsigned()) return it->get<int64_t>();
  if (it->is_number_unsigned()) {
    const uint64_t value = it->get<uint64_t>();
    const auto max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    return static_cast<int64_t>(value > max ? max : value);
  }
  return 0;
}

double number_field(const nlohmann::json& event, const char* key) {
  constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
  auto it = event.find(key);
  if (it == event.end()) return kNan;
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) {
    const auto& text = it->get_ref<const std::string&>();
    if (text == "inf") return std::numeric_limits<double>::infinity();
    if (text == "-inf") return -std::numeric_limits<double>::infinity();
  }
  return kNan;
}

std::string one_of(std::string value, std::initializer_list<const char*> allowed,
                   const char* fallback) {
  for (const char* candidate : allowed) {
    if (value == candidate) return value;
  }
  return fallback;
}

WorkerEvent unparseable(const std::string& why, std::string_view quoted) {
  WorkerEvent event;
  event.type = WorkerEventType::kUnparseable;
  event.message = why;
  if (!quoted.empty()) {
    event.message += ": " + truncate_utf8(to_valid_utf8(quoted.substr(0, kUnparseableQuoteBytes + 4)),
                                          kUnparseableQuoteBytes, "...");
  }
  return event;
}

}  // namespace

WorkerEvent parse_event(const nlohmann::json& json) {
  if (!json.is_object()) return unparseable("worker event is not a JSON object", json.type_name());
  const std::string type = text_field(json, "type", "", kMaxEventFieldBytes);
  WorkerEvent event;
  if (type == "log") {
    event.type = WorkerEventType::kLog;
    event.level = one_of(text_field(json, "level", "info", kMaxEventFieldBytes),
                         {"debug", "info", "warning", "error"}, "info");
    event.message = text_field(json, "message", "", kMaxEventMessageBytes);
    event.ts_ms = integer_field(json, "ts_ms");
  } else if (type == "metric") {
    event.type = WorkerEventType::kMetric;
    event.name = text_field(json, "name", "", kMaxEventFieldBytes);
    event.iteration = integer_field(json, "iteration");
    event.value = number_field(json, "value");
  } else if (type == "progress") {
    event.type = WorkerEventType::kProgress;
    const double fraction = number_field(json, "fraction");
    event.fraction = std::isfinite(fraction) ? std::fmin(1.0, std::fmax(0.0, fraction)) : 0.0;
    event.message = text_field(json, "message", "", kMaxEventMessageBytes);
    event.ts_ms = integer_field(json, "ts_ms");
  } else if (type == "output") {
    event.type = WorkerEventType::kOutput;
    event.name = text_field(json, "name", "", kMaxEventFieldBytes);
    event.path = text_field(json, "path", "", kMaxEventFieldBytes);
  } else if (type == "end") {
    event.type = WorkerEventType::kEnd;
    event.status = one_of(text_field(json, "status", "failed", kMaxEventFieldBytes),
                          {"succeeded", "failed", "cancelled"}, "failed");
    event.reason = text_field(json, "reason", "worker_exited", kMaxEventFieldBytes);
    event.message = text_field(json, "message", "", kMaxEventMessageBytes);
  } else {
    return unparseable("unknown worker event type", type.empty() ? "(none)" : type);
  }
  return event;
}

WorkerEvent parse_event_line(std::string_view line) {
  // Metric lines come by the million; the plain ones need no JSON document.
  if (std::optional<WorkerEvent> metric = parse_metric_line_fast(line)) return std::move(*metric);
  // A plugin can write to fd 3 itself: repair its bytes rather than lose the event.
  const nlohmann::json json = nlohmann::json::parse(to_valid_utf8(line), nullptr, false);
  if (json.is_discarded()) return unparseable("unparseable worker event", line);
  if (!json.is_object()) return unparseable("worker event is not a JSON object", line);
  return parse_event(json);
}

}  // namespace radflow
