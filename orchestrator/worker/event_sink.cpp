#include "orchestrator/worker/event_sink.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "common/utf8.h"
#include "orchestrator/executor/event_line.h"
#include "radflow/plugin.h"

namespace radflow {
namespace {

// The daemon drops event lines past a bound (rank_output.h) and would lose the
// event; cut text to the length it keeps anyway, so that even with every byte
// escaped (a control byte takes six) a line stays far below that bound.
std::string message_text(const std::string& text) {
  return truncate_utf8(to_valid_utf8(text), kMaxEventMessageBytes);
}

std::string field_text(const std::string& text) {
  return truncate_utf8(to_valid_utf8(text), kMaxEventFieldBytes);
}

// Plugins may log bytes that are not UTF-8; replacing them beats throwing mid-run.
std::string to_line(const nlohmann::json& event) {
  return event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

const char* level_name(int level) {
  switch (level) {
    case RF_LOG_DEBUG: return "debug";
    case RF_LOG_WARNING: return "warning";
    case RF_LOG_ERROR: return "error";
    default: return "info";
  }
}

}  // namespace

EventSink::EventSink(int fd) : EventSink(fd, EventBatchWriter()) {}

EventSink::EventSink(int fd, EventBatchWriter remote) : fd_(fd), remote_(std::move(remote)) {
  if (fd_ < 0 && !remote_) broken_ = true;
  flusher_ = std::thread([this] { flusher_loop(); });
}

EventSink::~EventSink() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    closed_ = true;
  }
  wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

void EventSink::emit(const nlohmann::json& event) { append_line(to_line(event)); }

void EventSink::emit_metric(std::string_view name, int64_t iteration, double value) {
  // metric() is called in training loops, by the million: no JSON document and no
  // allocation on the plugin's thread when the name is plain.
  char line[kMetricLineBufferBytes];
  const size_t size = metric_line(name, iteration, value, now_epoch_ms(), line);
  if (size == 0) {
    emit(metric_event(std::string(name), iteration, value));
    return;
  }
  append_line(std::string_view(line, size));
}

void EventSink::append_line(std::string_view line) {
  bool flush_now = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || broken_) return;
    if (chunks_.empty() ||
        (!chunks_.back().empty() && chunks_.back().size() + line.size() > kChunkBytes)) {
      if (spare_.empty()) {
        chunks_.emplace_back().reserve(kChunkBytes);
      } else {
        chunks_.push_back(std::move(spare_.back()));
        spare_.pop_back();
      }
    }
    chunks_.back() += line;  // a line longer than kChunkBytes gets a chunk of its own
    flush_now = ++buffered_events_ >= kFlushThresholdEvents;
  }
  if (flush_now) wake_.notify_one();
}

void EventSink::recycle_locked(std::vector<std::string>* written) {
  // Enough for the chunks one flush takes in steady state; a burst's extra ones go.
  constexpr size_t kMaxSpareChunks = 16;
  for (std::string& chunk : *written) {
    if (spare_.size() >= kMaxSpareChunks) break;
    if (chunk.capacity() > 2 * kChunkBytes) continue;  // grown by one long line
    chunk.clear();
    spare_.push_back(std::move(chunk));
  }
}

void EventSink::close(const nlohmann::json& end) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
    stopping_ = true;
  }
  wake_.notify_all();
  flusher_.join();  // the flusher writes what is left before it exits
  write_all(to_line(end));
}

void EventSink::flusher_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  std::vector<std::string> written;  // the last round's chunks
  for (;;) {
    recycle_locked(&written);
    wake_.wait_for(lock, kFlushInterval,
                   [this] { return stopping_ || buffered_events_ >= kFlushThresholdEvents; });
    std::vector<std::string> batch;
    batch.swap(chunks_);
    buffered_events_ = 0;
    const bool stop = stopping_;
    lock.unlock();
    written.clear();  // what recycling did not keep is freed without holding up emit()
    // Only this thread writes until close() has joined it, so batches stay in order.
    for (const std::string& chunk : batch) write_all(chunk);
    written = std::move(batch);
    lock.lock();
    if (stop && chunks_.empty()) return;
  }
}

void EventSink::write_all(const std::string& text) {
  if (remote_) {
    if (!broken_ && !remote_(text)) broken_ = true;
    return;
  }
  size_t done = 0;
  while (done < text.size() && !broken_) {
    ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      broken_ = true;  // the daemon is gone or the fd is bad: keep running, drop events
      return;
    }
    done += static_cast<size_t>(n);
  }
}

int64_t now_epoch_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

nlohmann::json log_event(int level, const std::string& message) {
  return {{"type", "log"}, {"level", level_name(level)}, {"message", message_text(message)}, {"ts_ms", now_epoch_ms()}};
}

nlohmann::json metric_event(const std::string& name, int64_t iteration, double value) {
  nlohmann::json json_value;
  if (std::isnan(value)) json_value = "nan";
  else if (std::isinf(value)) json_value = value > 0 ? "inf" : "-inf";
  else json_value = value;
  return {{"type", "metric"}, {"name", field_text(name)}, {"iteration", iteration},
          {"value", json_value},  {"ts_ms", now_epoch_ms()}};
}

namespace {

// Appends `text` at `*cursor`; the caller sized the buffer for the longest line.
void put_text(char** cursor, std::string_view text) {
  std::memcpy(*cursor, text.data(), text.size());
  *cursor += text.size();
}

bool is_plain_metric_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxMetricLineNameBytes) return false;
  for (const char c : name) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

size_t metric_line(std::string_view name, int64_t iteration, double value, int64_t ts_ms,
                   char (&out)[kMetricLineBufferBytes]) {
  if (!is_plain_metric_name(name)) return 0;
  char* cursor = out;
  char* const end = out + kMetricLineBufferBytes;
  put_text(&cursor, R"({"type":"metric","name":")");
  put_text(&cursor, name);
  put_text(&cursor, R"(","iteration":)");
  cursor = std::to_chars(cursor, end, iteration).ptr;
  put_text(&cursor, R"(,"value":)");
  if (std::isnan(value)) {
    put_text(&cursor, R"("nan")");
  } else if (std::isinf(value)) {
    put_text(&cursor, value > 0 ? R"("inf")" : R"("-inf")");
  } else if (value == 0 && std::signbit(value)) {
    put_text(&cursor, "-0.0");  // "-0" would read back as the integer 0
  } else {
    // Shortest text that reads back as the same double, as the JSON dump's is.
    cursor = std::to_chars(cursor, end, value).ptr;
  }
  put_text(&cursor, R"(,"ts_ms":)");
  cursor = std::to_chars(cursor, end, ts_ms).ptr;
  put_text(&cursor, "}\n");
  return static_cast<size_t>(cursor - out);
}

nlohmann::json progress_event(double fraction, const std::string& message) {
  if (!std::isfinite(fraction)) fraction = 0.0;
  fraction = fraction < 0.0 ? 0.0 : (fraction > 1.0 ? 1.0 : fraction);
  return {{"type", "progress"}, {"fraction", fraction}, {"message", message_text(message)}, {"ts_ms", now_epoch_ms()}};
}

nlohmann::json output_event(const std::string& name, const std::string& path) {
  return {{"type", "output"}, {"name", field_text(name)}, {"path", field_text(path)}};
}

nlohmann::json end_event(const std::string& status, const std::string& reason,
                         const std::string& message) {
  return {{"type", "end"}, {"status", status}, {"reason", field_text(reason)},
          {"message", message_text(message)}};
}

}  // namespace radflow
