#include "orchestrator/worker/event_sink.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>

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

void EventSink::emit(const nlohmann::json& event) {
  std::string line = to_line(event);
  bool flush_now = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || broken_) return;
    buffer_ += line;
    flush_now = ++buffered_events_ >= kFlushThresholdEvents;
  }
  if (flush_now) wake_.notify_one();
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
  for (;;) {
    wake_.wait_for(lock, kFlushInterval,
                   [this] { return stopping_ || buffered_events_ >= kFlushThresholdEvents; });
    std::string batch;
    batch.swap(buffer_);
    buffered_events_ = 0;
    const bool stop = stopping_;
    lock.unlock();
    // Only this thread writes until close() has joined it, so batches stay in order.
    if (!batch.empty()) write_all(batch);
    lock.lock();
    if (stop && buffer_.empty()) return;
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
