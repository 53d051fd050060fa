// parse_metric_line_fast: the metric fast path of parse_event_line, compared with the
// full parser (a JSON document, then parse_event) on the same lines.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/utf8.h"
#include "orchestrator/executor/event_line.h"
#include "orchestrator/executor/metric_line.h"

namespace radflow {
namespace {

// What parse_event_line did before the fast path, for every line.
WorkerEvent full_parser(const std::string& line) {
  const nlohmann::json json = nlohmann::json::parse(to_valid_utf8(line), nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    WorkerEvent unparseable;
    unparseable.message = "unparseable";
    return unparseable;
  }
  return parse_event(json);
}

bool same_bits(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
}

// Whatever the fast path says must be the full parser's event; nullopt is always
// allowed. Returns whether the fast path took the line.
bool expect_agrees(const std::string& line) {
  const std::optional<WorkerEvent> fast = parse_metric_line_fast(line);
  const WorkerEvent full = full_parser(line);
  if (!fast) return false;
  EXPECT_EQ(full.type, WorkerEventType::kMetric) << line;
  EXPECT_EQ(fast->type, WorkerEventType::kMetric) << line;
  EXPECT_EQ(fast->name, full.name) << line;
  EXPECT_EQ(fast->iteration, full.iteration) << line;
  EXPECT_TRUE(same_bits(fast->value, full.value))
      << line << ": " << fast->value << " vs " << full.value;
  EXPECT_TRUE(fast->message.empty() && fast->level.empty() && fast->path.empty()) << line;
  return true;
}

TEST(MetricLine, TakesTheWorkersLinesAndAgreesWithTheFullParser) {
  const std::vector<std::string> taken = {
      R"({"type":"metric","name":"loss","iteration":7,"value":0.5,"ts_ms":1700000000000})",
      R"({"iteration":7,"name":"loss","ts_ms":1700000000000,"type":"metric","value":0.5})",
      " { \"type\" : \"metric\" ,\t\"name\":\"a b\",\r\"iteration\":-3 , \"value\" : -0.0 } \r\n",
      R"({"type":"metric","name":"x","iteration":0,"value":"nan"})",
      R"({"type":"metric","name":"x","iteration":0,"value":"inf"})",
      R"({"type":"metric","name":"x","iteration":0,"value":"-inf"})",
      R"({"type":"metric","name":"x","iteration":0,"value":"NaN?"})",
      R"({"type":"metric","name":"x","iteration":1,"value":-0})",
      R"({"type":"metric","name":"x","iteration":1,"value":1e308})",
      R"({"type":"metric","name":"x","iteration":1,"value":-1.7976931348623157e308})",
      R"({"type":"metric","name":"x","iteration":1,"value":5e-324})",
      R"({"type":"metric","name":"x","iteration":1,"value":2.2250738585072014E-308})",
      R"({"type":"metric","name":"x","iteration":1,"value":0.1000000000000000055511151231257827})",
      R"({"type":"metric","name":"x","iteration":1,"value":9007199254740993})",
      R"({"type":"metric","name":"x","iteration":1,"value":-9223372036854775808})",
      R"({"type":"metric","name":"x","iteration":9223372036854775807,"value":1})",
      R"({"type":"metric","name":"x","iteration":-9223372036854775808,"value":1})",
      R"({"type":"metric","name":"x","iteration":1,"value":1E+2})",
      R"({"type":"metric","name":"x","iteration":1,"value":"1.5"})",
      R"({"type":"metric"})",
      R"({"type":"metric","value":2})",
      R"({"type":"metric","name":"only name"})",
      R"({"type":"metric","name":"","iteration":4})",
      R"({"type":"metric","name":"~!@#$%^&*()_+{}[]:;',./<>?`|","value":1})",
      "{\"type\":\"metric\",\"name\":\"" + std::string(kMaxEventFieldBytes, 'n') + "\"}",
  };
  for (const std::string& line : taken) {
    EXPECT_TRUE(expect_agrees(line)) << "the fast path should take " << line;
  }
  // A few values spelled out, so that agreement is not agreement on a wrong answer.
  EXPECT_EQ(parse_metric_line_fast(taken[0])->name, "loss");
  EXPECT_EQ(parse_metric_line_fast(taken[0])->iteration, 7);
  EXPECT_EQ(parse_metric_line_fast(taken[0])->value, 0.5);
  EXPECT_EQ(parse_metric_line_fast(taken[2])->name, "a b");
  EXPECT_TRUE(std::signbit(parse_metric_line_fast(taken[2])->value));
  EXPECT_TRUE(std::isnan(parse_metric_line_fast(taken[3])->value));
  EXPECT_EQ(parse_metric_line_fast(taken[5])->value, -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(parse_metric_line_fast(taken[19])->value));  // value absent
  EXPECT_EQ(parse_metric_line_fast(taken[19])->iteration, 0);
  EXPECT_EQ(parse_metric_line_fast(taken[15])->iteration, INT64_MAX);
}

TEST(MetricLine, LeavesEverythingElseToTheFullParser) {
  const std::vector<std::string> left = {
      // Escapes and bytes beyond ASCII in names: the full parser decodes and repairs.
      R"({"type":"metric","name":"a\"b","value":1})",
      R"({"type":"metric","name":"tab\there","value":1})",
      R"({"type":"metric","name":"\u00e9","value":1})",
      "{\"type\":\"metric\",\"name\":\"caf\xc3\xa9\",\"value\":1}",
      "{\"type\":\"metric\",\"name\":\"bad\xff\",\"value\":1}",
      "{\"type\":\"metric\",\"name\":\"ctl\x01\",\"value\":1}",
      "\xef\xbb\xbf{\"type\":\"metric\",\"name\":\"bom\"}",
      // Longer than the field limit: the full parser cuts it with a marker.
      "{\"type\":\"metric\",\"name\":\"" + std::string(kMaxEventFieldBytes + 1, 'n') + "\"}",
      // Numbers out of int64 or double range, and iterations that are not integers.
      R"({"type":"metric","name":"x","iteration":9223372036854775808,"value":1})",
      R"({"type":"metric","name":"x","iteration":-9223372036854775809,"value":1})",
      R"({"type":"metric","name":"x","iteration":1.5,"value":1})",
      R"({"type":"metric","name":"x","iteration":1e3,"value":1})",
      R"({"type":"metric","name":"x","iteration":"7","value":1})",
      R"({"type":"metric","name":"x","value":1e309})",
      R"({"type":"metric","name":"x","value":-1e400})",
      R"({"type":"metric","name":"x","value":1e-400})",
      R"({"type":"metric","name":"x","value":18446744073709551616})",
      R"({"type":"metric","name":"x","ts_ms":1.5})",
      // Other JSON types, other keys, repeated keys, other event types.
      R"({"type":"metric","name":"x","value":true})",
      R"({"type":"metric","name":"x","value":null})",
      R"({"type":"metric","name":"x","value":[1]})",
      R"({"type":"metric","name":7,"value":1})",
      R"({"type":"metric","name":"x","unit":"s"})",
      R"({"type":"metric","name":"x","name":"y"})",
      R"({"type":"metric","type":"metric"})",
      R"({"type":"log","message":"m"})",
      R"({"type":"Metric","name":"x"})",
      R"({"name":"x","value":1})",
      R"({})",
      // Not JSON, or not only JSON.
      R"({"type":"metric","name":"x","value":01})",
      R"({"type":"metric","name":"x","value":1.})",
      R"({"type":"metric","name":"x","value":.5})",
      R"({"type":"metric","name":"x","value":+1})",
      R"({"type":"metric","name":"x","value":1e})",
      R"({"type":"metric","name":"x","value":-})",
      R"({"type":"metric","name":"x","value":NaN})",
      R"({"type":"metric","name":"x","value":1,})",
      R"({"type":"metric","name":"x""value":1})",
      R"({"type":"metric","name":"x","value":1)",
      R"({"type":"metric","name":"x","value":1}})",
      R"({"type":"metric","name":"x","value":1} x)",
      std::string(R"({"type":"metric","name":"x"})") + '\0',
      R"({"type":"metric","name":"x)",
      R"({'type':'metric'})",
      R"([{"type":"metric"}])",
      "",
      "metric",
  };
  for (const std::string& line : left) {
    EXPECT_FALSE(parse_metric_line_fast(line).has_value()) << line;
  }
  // And parse_event_line still gives the full parser's answer for them.
  for (const std::string& line : left) {
    const WorkerEvent event = parse_event_line(line);
    const WorkerEvent full = full_parser(line);
    EXPECT_EQ(event.type, full.type) << line;
    EXPECT_EQ(event.name, full.name) << line;
    EXPECT_EQ(event.iteration, full.iteration) << line;
    EXPECT_TRUE(same_bits(event.value, full.value)) << line;
  }
  EXPECT_EQ(parse_event_line(R"({"type":"metric","name":"x","value":1e309})").type,
            WorkerEventType::kUnparseable);
  EXPECT_EQ(parse_event_line(R"({"type":"metric","name":"a\"b","value":1})").name, "a\"b");
  EXPECT_EQ(parse_event_line(R"({"type":"metric","iteration":9223372036854775808})").iteration,
            INT64_MAX);
}

// Seeded mutations of a worker's metric line, a byte or a token at a time: wherever
// the fast path answers, it answers as the full parser does.
TEST(MetricLine, MutatedLinesAgreeWithTheFullParser) {
  std::mt19937 random(20261203);
  const std::string seed =
      R"({"type":"metric","name":"train.loss","iteration":1234,"value":0.015625,"ts_ms":1700000000000})";
  const std::string alphabet = "{}[]:,\" \t-+.eE0123456789abcdefnrtuxyz\\\x01\x7f\xc3\xa9\xff";
  const std::vector<std::string> tokens = {"\"type\"",
                                           "\"name\"",
                                           "\"value\"",
                                           "\"iteration\"",
                                           "\"ts_ms\"",
                                           "\"metric\"",
                                           "\"nan\"",
                                           "\"-inf\"",
                                           "1e400",
                                           "-0",
                                           "9223372036854775808",
                                           ",",
                                           ":",
                                           "null",
                                           "1.5"};
  int taken = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string line = seed;
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = random() % (line.size() + 1);
      switch (random() % 4) {
        case 0:
          if (at < line.size()) line[at] = alphabet[random() % alphabet.size()];
          break;
        case 1:
          if (at < line.size()) line.erase(at, 1);
          break;
        case 2:
          line.insert(at, 1, alphabet[random() % alphabet.size()]);
          break;
        default:
          line.insert(at, tokens[random() % tokens.size()]);
          break;
      }
    }
    if (expect_agrees(line)) ++taken;
    if (::testing::Test::HasFailure()) FAIL() << "mutation " << i << ": " << line;
  }
  // Most single edits inside digits or the name keep the line simple.
  EXPECT_GT(taken, 1000);
}

}  // namespace
}  // namespace radflow
