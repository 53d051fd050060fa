// EventSink: the worker's batched channel of JSON-line events to the daemon (the
// events fd, or HTTP posts for a remote worker: remote_event_writer.h).
//
// emit() appends one event to an in-memory buffer; a background flusher thread
// writes the buffer to the events fd every kFlushInterval, or at once when it holds
// kFlushThresholdEvents. close() flushes everything, writes the "end" event last and
// stops the thread; events emitted after that are dropped. If the daemon is gone
// (EPIPE, EBADF, ...) the sink marks itself broken and drops events from then on:
// the plugin keeps running. SIGPIPE must be ignored by the process.
//
// Owns its thread, not the fd. emit() is thread-safe and may be called from any
// plugin thread; close() is called once, by the owner.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "orchestrator/worker/remote_event_writer.h"

namespace radflow {

class EventSink {
 public:
  static constexpr size_t kFlushThresholdEvents = 256;
  static constexpr std::chrono::milliseconds kFlushInterval{100};

  // fd < 0 means "no daemon": every event is dropped.
  explicit EventSink(int fd);
  // With `remote` set, batches go to it instead of the fd (remote_event_writer.h);
  // once it returns false the sink is broken.
  EventSink(int fd, EventBatchWriter remote);
  ~EventSink();
  EventSink(const EventSink&) = delete;
  EventSink& operator=(const EventSink&) = delete;

  void emit(const nlohmann::json& event);
  // Flushes, writes `end_event` as the last line and stops the flusher.
  void close(const nlohmann::json& end_event);
  bool broken() const { return broken_.load(); }

 private:
  void flusher_loop();
  void write_all(const std::string& text);

  const int fd_;
  const EventBatchWriter remote_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string buffer_;         // guarded by mutex_
  size_t buffered_events_ = 0;  // guarded by mutex_
  bool stopping_ = false;       // guarded by mutex_
  bool closed_ = false;         // guarded by mutex_
  std::atomic<bool> broken_{false};
  std::thread flusher_;
};

// Milliseconds since the Unix epoch, the "ts_ms" of events.
int64_t now_epoch_ms();

// Event constructors, so every producer writes the same shape. Text is made valid
// UTF-8 and cut at a code point boundary to the daemon's limits (event_line.h):
// messages to kMaxEventMessageBytes, names, paths and reasons to kMaxEventFieldBytes,
// so that every event line stays well under the daemon's line bound.
nlohmann::json log_event(int level, const std::string& message);
nlohmann::json metric_event(const std::string& name, int64_t iteration, double value);
nlohmann::json progress_event(double fraction, const std::string& message);
nlohmann::json output_event(const std::string& name, const std::string& path);
nlohmann::json end_event(const std::string& status, const std::string& reason,
                         const std::string& message);

}  // namespace radflow
