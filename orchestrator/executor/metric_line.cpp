#include "orchestrator/executor/metric_line.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace radflow {
namespace {

// One scalar of the flat object: a string (its bytes, no quotes) or a number (its
// literal, already checked against the JSON grammar).
struct FastMetricScalar {
  enum class Kind { kString, kInteger, kFloat } kind = Kind::kString;
  std::string_view text;
};

// A cursor over the line that accepts only the simple subset the header describes
// and says false as soon as anything falls outside it.
class FastMetricReader {
 public:
  explicit FastMetricReader(std::string_view line) : line_(line) {}

  void skip_space() {
    while (pos_ < line_.size()) {
      const char c = line_[pos_];
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return;
      ++pos_;
    }
  }
  bool take(char expected) {
    skip_space();
    if (pos_ >= line_.size() || line_[pos_] != expected) return false;
    ++pos_;
    return true;
  }
  bool at_end() {
    skip_space();
    return pos_ == line_.size();
  }
  // A string of printable ASCII without escapes; the opening quote is next.
  bool string(std::string_view* out) {
    if (!take('"')) return false;
    const size_t start = pos_;
    while (pos_ < line_.size()) {
      const auto c = static_cast<unsigned char>(line_[pos_]);
      if (c == '"') {
        *out = line_.substr(start, pos_ - start);
        ++pos_;
        return true;
      }
      // Escapes, control bytes and UTF-8 all go to the full parser.
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
      ++pos_;
    }
    return false;
  }
  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, the JSON number grammar.
  bool number(FastMetricScalar* out) {
    skip_space();
    const size_t start = pos_;
    bool is_float = false;
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (!digits()) {
      return false;
    }
    if (peek() == '.') {
      ++pos_;
      if (!digits()) return false;
      is_float = true;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!digits()) return false;
      is_float = true;
    }
    out->kind = is_float ? FastMetricScalar::Kind::kFloat : FastMetricScalar::Kind::kInteger;
    out->text = line_.substr(start, pos_ - start);
    return true;
  }
  bool scalar(FastMetricScalar* out) {
    skip_space();
    if (peek() == '"') {
      out->kind = FastMetricScalar::Kind::kString;
      return string(&out->text);
    }
    return number(out);
  }

 private:
  char peek() const { return pos_ < line_.size() ? line_[pos_] : '\0'; }
  bool digits() {
    const size_t start = pos_;
    while (pos_ < line_.size() && line_[pos_] >= '0' && line_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  std::string_view line_;
  size_t pos_ = 0;
};

// An integer literal within int64, which the full parser reads as the same integer.
// Beyond that range its unsigned and overflow rules apply: the full path's business.
bool fast_metric_integer(const FastMetricScalar& scalar, int64_t* out) {
  if (scalar.kind != FastMetricScalar::Kind::kInteger) return false;
  const std::string_view text = scalar.text;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), *out);
  return result.ec == std::errc() && result.ptr == text.data() + text.size();
}

// The value as the full parser reads it (event_line.cpp, number_field): an integer
// literal is converted from its int64, a float literal correctly rounded, a string
// is inf, -inf or otherwise NaN.
bool fast_metric_value(const FastMetricScalar& scalar, double* out) {
  switch (scalar.kind) {
    case FastMetricScalar::Kind::kString:
      if (scalar.text == "inf") {
        *out = std::numeric_limits<double>::infinity();
      } else if (scalar.text == "-inf") {
        *out = -std::numeric_limits<double>::infinity();
      } else {
        *out = std::numeric_limits<double>::quiet_NaN();
      }
      return true;
    case FastMetricScalar::Kind::kInteger: {
      int64_t integer = 0;
      if (!fast_metric_integer(scalar, &integer)) return false;
      *out = static_cast<double>(integer);
      return true;
    }
    case FastMetricScalar::Kind::kFloat: {
      // Out of range (overflow is a parse error in the full parser, underflow is
      // not) takes the full path rather than guessing which.
      const char* end = scalar.text.data() + scalar.text.size();
      const auto result = std::from_chars(scalar.text.data(), end, *out);
      return result.ec == std::errc() && result.ptr == end && std::isfinite(*out);
    }
  }
  return false;
}

}  // namespace

std::optional<WorkerEvent> parse_metric_line_fast(std::string_view line) {
  FastMetricReader reader(line);
  if (!reader.take('{')) return std::nullopt;
  bool seen_type = false, seen_name = false, seen_iteration = false, seen_value = false,
       seen_ts = false;
  WorkerEvent event;
  event.type = WorkerEventType::kMetric;
  event.value = std::numeric_limits<double>::quiet_NaN();  // absent value
  if (!reader.take('}')) {
    do {
      std::string_view key;
      FastMetricScalar scalar;
      if (!reader.string(&key) || !reader.take(':') || !reader.scalar(&scalar)) return std::nullopt;
      const bool is_string = scalar.kind == FastMetricScalar::Kind::kString;
      if (key == "type" && !seen_type) {
        if (!is_string || scalar.text != "metric") return std::nullopt;
        seen_type = true;
      } else if (key == "name" && !seen_name) {
        if (!is_string || scalar.text.size() > kMaxEventFieldBytes) return std::nullopt;
        event.name.assign(scalar.text);
        seen_name = true;
      } else if (key == "iteration" && !seen_iteration) {
        if (!fast_metric_integer(scalar, &event.iteration)) return std::nullopt;
        seen_iteration = true;
      } else if (key == "value" && !seen_value) {
        if (!fast_metric_value(scalar, &event.value)) return std::nullopt;
        seen_value = true;
      } else if (key == "ts_ms" && !seen_ts) {
        // Not part of a metric event, but it must be a number the full parser takes.
        int64_t ignored = 0;
        if (!fast_metric_integer(scalar, &ignored)) return std::nullopt;
        seen_ts = true;
      } else {
        return std::nullopt;  // another key, or one seen twice
      }
    } while (reader.take(','));
    if (!reader.take('}')) return std::nullopt;
  }
  if (!seen_type || !reader.at_end()) return std::nullopt;
  return event;
}

}  // namespace radflow
