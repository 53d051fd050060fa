// EventSink and metric_line: the worker's side of the events channel, in process, on
// a pipe read by a test thread.
#include "orchestrator/worker/event_sink.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "orchestrator/executor/event_line.h"
#include "orchestrator/executor/metric_line.h"
#include "radflow/plugin.h"

namespace radflow {
namespace {

std::string line_of(std::string_view name, int64_t iteration, double value) {
  char buffer[kMetricLineBufferBytes];
  const size_t size = metric_line(name, iteration, value, 1700000000123, buffer);
  return std::string(buffer, size);
}

bool same_bits(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
}

TEST(MetricLine, SaysWhatTheJsonEventSaysAndTakesTheDaemonsFastPath) {
  const double values[] = {0.0,
                           -0.0,
                           0.5,
                           1.0 / 3.0,
                           -2.5e-7,
                           1e15,
                           1e300,
                           123456789.125,
                           std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::max(),
                           -std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity()};
  const int64_t iterations[] = {0, 1, -1, 1234567, INT64_MAX, INT64_MIN};
  const std::string names[] = {"loss", "train/acc@1", "a b ~!#$%&'()*+,-./:;<=>?[]^_`{|}",
                               std::string(kMaxMetricLineNameBytes, 'n')};
  for (const std::string& name : names) {
    for (const int64_t iteration : iterations) {
      for (const double value : values) {
        const std::string line = line_of(name, iteration, value);
        ASSERT_FALSE(line.empty()) << name;
        ASSERT_EQ(line.back(), '\n');
        const std::string_view body(line.data(), line.size() - 1);
        // The bytes are JSON, with the fields metric_event() writes.
        const nlohmann::json json = nlohmann::json::parse(body);
        nlohmann::json expected = metric_event(name, iteration, value);
        expected["ts_ms"] = 1700000000123;
        EXPECT_EQ(json, expected) << line;
        // The daemon's fast path takes them and reads what the JSON event says.
        const std::optional<WorkerEvent> fast = parse_metric_line_fast(body);
        ASSERT_TRUE(fast.has_value()) << line;
        const WorkerEvent full = parse_event(expected);
        EXPECT_EQ(fast->name, full.name);
        EXPECT_EQ(fast->iteration, full.iteration);
        EXPECT_TRUE(same_bits(fast->value, value)) << line;
        EXPECT_TRUE(same_bits(fast->value, full.value)) << line;
      }
    }
  }
}

TEST(MetricLine, NamesThatNeedJsonAreLeftToTheJsonEvent) {
  for (const std::string& name :
       {std::string(""), std::string("a\"b"), std::string("a\\b"), std::string("tab\t"),
        std::string("caf\xc3\xa9"), std::string("bad\xff"), std::string("del\x7f"),
        std::string(kMaxMetricLineNameBytes + 1, 'n')}) {
    EXPECT_TRUE(line_of(name, 1, 1.0).empty()) << name;
  }
}

// Reads everything written to a pipe until EOF, on its own thread so that the sink's
// flusher never blocks on a full pipe.
class PipeReader {
 public:
  PipeReader() {
    EXPECT_EQ(::pipe(fds_), 0);
    thread_ = std::thread([this] {
      char buffer[1 << 16];
      ssize_t n;
      while ((n = ::read(fds_[0], buffer, sizeof(buffer))) > 0)
        text_.append(buffer, static_cast<size_t>(n));
    });
  }
  ~PipeReader() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    if (thread_.joinable()) thread_.join();
    ::close(fds_[0]);
  }
  int write_fd() const { return fds_[1]; }
  // Closes the write end and returns the lines read, without their newlines.
  std::vector<std::string> lines() {
    ::close(fds_[1]);
    fds_[1] = -1;
    thread_.join();
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t nl; (nl = text_.find('\n', start)) != std::string::npos; start = nl + 1) {
      out.push_back(text_.substr(start, nl - start));
    }
    EXPECT_EQ(start, text_.size()) << "the last line has no newline";
    return out;
  }

 private:
  int fds_[2] = {-1, -1};
  std::thread thread_;
  std::string text_;
};

// Many chunks' worth of events from two threads, plain and JSON-path metrics and
// logs mixed: each thread's events arrive whole and in order, the end event last.
TEST(EventSink, EveryEventArrivesWholeAndInOrderAcrossChunks) {
  PipeReader reader;
  constexpr int kPerThread = 30000;  // about 2 MB of lines: many 64 KiB chunks
  {
    EventSink sink(reader.write_fd());
    auto produce = [&sink](const std::string& prefix) {
      for (int i = 0; i < kPerThread; ++i) {
        if (i % 1000 == 999) {
          sink.emit(log_event(RF_LOG_INFO, prefix + " log " + std::to_string(i)));
        } else if (i % 100 == 7) {
          sink.emit_metric(prefix + "/caf\xc3\xa9", i, i * 0.25);  // needs the JSON path
        } else {
          sink.emit_metric(prefix + "/loss", i, i * 0.25);
        }
      }
    };
    std::thread other(produce, "b");
    produce("a");
    other.join();
    sink.emit(log_event(RF_LOG_INFO, std::string(3 * EventSink::kChunkBytes, 'x')));
    sink.close(end_event("succeeded", "ok", ""));
    EXPECT_FALSE(sink.broken());
  }
  const std::vector<std::string> lines = reader.lines();
  ASSERT_EQ(lines.size(), 2u * kPerThread + 2);
  int next[2] = {0, 0};
  for (size_t i = 0; i + 2 < lines.size(); ++i) {
    const WorkerEvent event = parse_event_line(lines[i]);
    const std::string& text = event.type == WorkerEventType::kLog ? event.message : event.name;
    ASSERT_FALSE(text.empty()) << lines[i];
    const int thread = text[0] == 'a' ? 0 : 1;
    const int expected = next[thread]++;
    if (event.type == WorkerEventType::kLog) {
      EXPECT_EQ(event.message, text.substr(0, 1) + " log " + std::to_string(expected));
    } else {
      ASSERT_EQ(event.type, WorkerEventType::kMetric) << lines[i];
      EXPECT_EQ(event.iteration, expected) << lines[i];
      EXPECT_EQ(event.value, expected * 0.25) << lines[i];
      EXPECT_EQ(event.name, text.substr(0, 1) + (expected % 100 == 7 ? "/caf\xc3\xa9" : "/loss"));
    }
  }
  EXPECT_EQ(next[0], kPerThread);
  EXPECT_EQ(next[1], kPerThread);
  EXPECT_EQ(parse_event_line(lines[lines.size() - 2]).message.size(), kMaxEventMessageBytes);
  const WorkerEvent end = parse_event_line(lines.back());
  EXPECT_EQ(end.type, WorkerEventType::kEnd);
  EXPECT_EQ(end.status, "succeeded");
}

// A few events, far from a chunk's worth, still reach the daemon within about
// kFlushInterval while the plugin runs on (nothing else seals their chunk).
TEST(EventSink, APartlyFilledChunkGoesOutWithinTheFlushInterval) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EventSink sink(fds[1]);
  sink.emit_metric("loss", 1, 0.5);
  sink.emit(log_event(RF_LOG_INFO, "hello"));
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::count(text.begin(), text.end(), '\n') < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd readable{fds[0], POLLIN, 0};
    if (::poll(&readable, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(fds[0], buffer, sizeof(buffer));
    ASSERT_GT(n, 0);
    text.append(buffer, static_cast<size_t>(n));
  }
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_EQ(parse_event_line(text.substr(0, text.find('\n'))).iteration, 1);
  sink.close(end_event("succeeded", "ok", ""));
  ::close(fds[1]);
  ::close(fds[0]);
}

TEST(EventSink, EventsAfterCloseAreDropped) {
  PipeReader reader;
  EventSink sink(reader.write_fd());
  sink.emit_metric("loss", 1, 1.0);
  sink.close(end_event("succeeded", "ok", ""));
  sink.emit_metric("loss", 2, 2.0);
  const std::vector<std::string> lines = reader.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(parse_event_line(lines[0]).iteration, 1);
  EXPECT_EQ(parse_event_line(lines[1]).type, WorkerEventType::kEnd);
}

}  // namespace
}  // namespace radflow
