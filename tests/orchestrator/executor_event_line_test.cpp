// parse_event_line: one line of a worker's events channel, from bytes nobody vouches for.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "common/utf8.h"
#include "orchestrator/executor/event_line.h"

namespace radflow {
namespace {

void expect_all_text_valid(const WorkerEvent& event) {
  for (const std::string* text : {&event.level, &event.message, &event.name, &event.path,
                                  &event.status, &event.reason}) {
    EXPECT_TRUE(is_valid_utf8(*text)) << *text;
  }
}

TEST(EventLine, ParsesEveryType) {
  WorkerEvent log = parse_event_line(
      R"({"type":"log","level":"warning","message":"hello","ts_ms":1700000000000})");
  EXPECT_EQ(log.type, WorkerEventType::kLog);
  EXPECT_EQ(log.level, "warning");
  EXPECT_EQ(log.message, "hello");
  EXPECT_EQ(log.ts_ms, 1700000000000);

  WorkerEvent metric = parse_event_line(R"({"type":"metric","name":"loss","iteration":7,"value":0.5})");
  EXPECT_EQ(metric.type, WorkerEventType::kMetric);
  EXPECT_EQ(metric.name, "loss");
  EXPECT_EQ(metric.iteration, 7);
  EXPECT_DOUBLE_EQ(metric.value, 0.5);
  EXPECT_TRUE(std::isinf(parse_event_line(R"({"type":"metric","name":"x","value":"-inf"})").value));
  EXPECT_TRUE(std::isnan(parse_event_line(R"({"type":"metric","name":"x","value":"nan"})").value));

  WorkerEvent progress = parse_event_line(R"({"type":"progress","fraction":0.25,"message":"a"})");
  EXPECT_EQ(progress.type, WorkerEventType::kProgress);
  EXPECT_DOUBLE_EQ(progress.fraction, 0.25);
  EXPECT_EQ(progress.message, "a");

  WorkerEvent output = parse_event_line(R"({"type":"output","name":"model","path":"/x/m.bin"})");
  EXPECT_EQ(output.type, WorkerEventType::kOutput);
  EXPECT_EQ(output.name, "model");
  EXPECT_EQ(output.path, "/x/m.bin");

  WorkerEvent end = parse_event_line(
      R"({"type":"end","status":"failed","reason":"plugin_failed","message":"disk full"})");
  EXPECT_EQ(end.type, WorkerEventType::kEnd);
  EXPECT_EQ(end.status, "failed");
  EXPECT_EQ(end.reason, "plugin_failed");
  EXPECT_EQ(end.message, "disk full");
}

TEST(EventLine, WrongFieldTypesGetDefaultsInsteadOfThrowing) {
  WorkerEvent log = parse_event_line(R"({"type":"log","level":5,"message":["x"],"ts_ms":"now"})");
  EXPECT_EQ(log.type, WorkerEventType::kLog);
  EXPECT_EQ(log.level, "info");
  EXPECT_EQ(log.message, "");
  EXPECT_EQ(log.ts_ms, 0);

  WorkerEvent end = parse_event_line(R"({"type":"end","status":{},"reason":null,"message":1})");
  EXPECT_EQ(end.type, WorkerEventType::kEnd);
  EXPECT_EQ(end.status, "failed");
  EXPECT_EQ(end.reason, "worker_exited");

  EXPECT_EQ(parse_event_line(R"({"type":"end","status":"great"})").status, "failed");
  EXPECT_EQ(parse_event_line(R"({"type":"log","level":"loud"})").level, "info");
  WorkerEvent metric = parse_event_line(
      R"({"type":"metric","name":"x","iteration":1e300,"value":true})");
  EXPECT_EQ(metric.iteration, 0);
  EXPECT_TRUE(std::isnan(metric.value));
  EXPECT_EQ(parse_event_line(R"({"type":"metric","iteration":18446744073709551615})").iteration,
            INT64_MAX);
  EXPECT_DOUBLE_EQ(parse_event_line(R"({"type":"progress","fraction":7})").fraction, 1.0);
  EXPECT_DOUBLE_EQ(parse_event_line(R"({"type":"progress","fraction":"inf"})").fraction, 0.0);
}

TEST(EventLine, AnythingElseIsUnparseableWithAQuote) {
  for (const char* line : {"", "not json", "[1,2]", "42", "\"log\"", "{\"type\":\"dance\"}",
                           "{\"no_type\":1}", "{\"type\":7}", "{\"type\":\"log\""}) {
    WorkerEvent event = parse_event_line(line);
    EXPECT_EQ(event.type, WorkerEventType::kUnparseable) << line;
    EXPECT_FALSE(event.message.empty()) << line;
  }
  EXPECT_NE(parse_event_line("not json").message.find("not json"), std::string::npos);
  const std::string long_garbage(100000, '{');
  WorkerEvent event = parse_event_line(long_garbage);
  EXPECT_EQ(event.type, WorkerEventType::kUnparseable);
  EXPECT_LT(event.message.size(), kUnparseableQuoteBytes + 100);
}

TEST(EventLine, IllFormedBytesBecomeReplacementCharacters) {
  // Raw bytes inside the JSON string: the line is repaired, not dropped.
  WorkerEvent log = parse_event_line("{\"type\":\"log\",\"message\":\"a\xff\xfe" "b\"}");
  EXPECT_EQ(log.type, WorkerEventType::kLog);
  EXPECT_EQ(log.message, "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  WorkerEvent end = parse_event_line("{\"type\":\"end\",\"reason\":\"r\xc3\",\"message\":\"\xed\xa0\x80\"}");
  EXPECT_EQ(end.type, WorkerEventType::kEnd);
  expect_all_text_valid(end);
  WorkerEvent garbage = parse_event_line("\xff\xfe not json \xc3");
  EXPECT_EQ(garbage.type, WorkerEventType::kUnparseable);
  expect_all_text_valid(garbage);
}

TEST(EventLine, LongFieldsAreCutAtACodePointBoundary) {
  // é (2 bytes) straddles the message limit.
  const std::string message = std::string(kMaxEventMessageBytes - 1, 'm') + "\xc3\xa9" + "tail";
  WorkerEvent end = parse_event_line(
      nlohmann::json({{"type", "end"}, {"status", "failed"}, {"reason", "plugin_failed"},
                      {"message", message}}).dump());
  EXPECT_EQ(end.reason, "plugin_failed");
  EXPECT_LE(end.message.size(), kMaxEventMessageBytes);
  EXPECT_TRUE(is_valid_utf8(end.message));
  EXPECT_EQ(end.message.substr(0, 100), std::string(100, 'm'));
  EXPECT_NE(end.message.find("[truncated]"), std::string::npos);

  WorkerEvent metric = parse_event_line(
      nlohmann::json({{"type", "metric"}, {"name", std::string(100000, 'n')}, {"value", 1}}).dump());
  EXPECT_LE(metric.name.size(), kMaxEventFieldBytes);
}

TEST(EventLine, ParseEventTakesAParsedValue) {
  EXPECT_EQ(parse_event(nlohmann::json::array()).type, WorkerEventType::kUnparseable);
  WorkerEvent end = parse_event({{"type", "end"}, {"status", "succeeded"}, {"reason", "ok"}});
  EXPECT_EQ(end.type, WorkerEventType::kEnd);
  EXPECT_EQ(end.status, "succeeded");
}

// Not a fuzzer, but the same contract on seeded random bytes and mutations of valid
// lines: no exception, only valid UTF-8.
TEST(EventLine, RandomBytesNeverThrowAndStayValid) {
  std::mt19937 random(12345);
  const std::string seeds[] = {
      R"({"type":"log","level":"info","message":"hello é","ts_ms":1})",
      R"({"type":"metric","name":"loss","iteration":3,"value":"inf"})",
      R"({"type":"end","status":"failed","reason":"plugin_failed","message":"x"})"};
  for (int i = 0; i < 3000; ++i) {
    std::string line = seeds[i % 3];
    const int edits = 1 + static_cast<int>(random() % 6);
    for (int e = 0; e < edits; ++e) {
      line[random() % line.size()] = static_cast<char>(random() % 256);
    }
    WorkerEvent event;
    ASSERT_NO_THROW(event = parse_event_line(line)) << i;
    expect_all_text_valid(event);
  }
}

}  // namespace
}  // namespace radflow
