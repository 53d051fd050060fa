// EventSink: the worker's batched channel of JSON-line events to the daemon (the
// events fd, or HTTP posts for a remote worker: remote_event_writer.h).
//
// emit() appends one event to the current chunk of an in-memory buffer; a chunk is
// sealed when it holds kFlushThresholdEvents events or about kChunkBytes, and a
// background flusher thread writes sealed chunks to the events fd as they come, and
// a partly filled one every kFlushInterval. The flusher never takes the lock emit()
// takes while the plugin is busy: sealed chunks reach it through a lock-free list and
// a futex word, so a flusher that loses its core (or waits on a full pipe, a slow
// daemon, a slow database) never holds up a plugin thread, and the sink opens no
// file descriptor (a worker's plugin sees fds 0-3 only). A plugin far ahead of the
// daemon grows the list of chunks; written chunks are reused. close() flushes
// everything, writes the "end" event last and stops the thread; events emitted after
// that are dropped. If the daemon is gone (EPIPE, EBADF, ...) the sink marks itself
// broken and drops events from then on: the plugin keeps running. SIGPIPE must be
// ignored by the process.
//
// Owns its thread, not the fd. Linux only (futex). emit() is thread-safe and may be
// called from any plugin thread; close() is called once, by the owner.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "orchestrator/worker/remote_event_writer.h"

namespace radflow {

class EventSink {
 public:
  static constexpr size_t kFlushThresholdEvents = 256;
  static constexpr std::chrono::milliseconds kFlushInterval{100};
  static constexpr size_t kChunkBytes = 64 * 1024;

  // fd < 0 means "no daemon": every event is dropped.
  explicit EventSink(int fd);
  // With `remote` set, batches go to it instead of the fd (remote_event_writer.h);
  // once it returns false the sink is broken.
  EventSink(int fd, EventBatchWriter remote);
  ~EventSink();
  EventSink(const EventSink&) = delete;
  EventSink& operator=(const EventSink&) = delete;

  void emit(const nlohmann::json& event);
  // emit(metric_event(name, iteration, value)) without building a JSON document when
  // the name is plain printable ASCII (metric_line below); the same event either way.
  void emit_metric(std::string_view name, int64_t iteration, double value);
  // Flushes, writes `end_event` as the last line and stops the flusher.
  void close(const nlohmann::json& end_event);
  bool broken() const { return broken_.load(); }

 private:
  struct Chunk {
    std::string text;  // whole lines
    size_t events = 0;
    Chunk* next = nullptr;
  };

  void append_line(std::string_view line);
  // Hands current_ to the flusher (caller holds mutex_); false when it was empty.
  bool seal_locked();
  void wake_flusher();
  // Sleeps until wake_flusher() or kFlushInterval; true when the interval passed.
  bool wait_for_chunks();
  void stop_flusher();
  void flusher_loop();
  // Takes every sealed chunk, oldest first, and writes it.
  void write_ready();
  void write_all(const std::string& text);

  const int fd_;
  const EventBatchWriter remote_;
  std::mutex mutex_;            // emit() and close(); the flusher only try_locks it
  Chunk* current_ = nullptr;    // guarded by mutex_
  Chunk* spare_taken_ = nullptr;  // guarded by mutex_: chunks taken from spare_
  bool closed_ = false;         // guarded by mutex_
  std::atomic<Chunk*> ready_{nullptr};  // sealed, newest first: pushed under mutex_
  std::atomic<Chunk*> spare_{nullptr};  // written, for reuse: pushed by the flusher
  std::atomic<size_t> spare_count_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> broken_{false};
  std::atomic<uint32_t> wake_seq_{0};  // futex word: bumped when a chunk is sealed, or stop
  std::atomic<bool> flusher_waiting_{false};
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

// The line (with its newline) of metric_event(name, iteration, value) stamped ts_ms,
// written
// straight into `out` when `name` is printable ASCII without quotes or backslashes and
// at most kMaxMetricLineNameBytes long: the daemon reads such lines without a JSON
// document (orchestrator/executor/metric_line.h). Returns the line's length, or 0
// when the name needs the JSON path (escaping, UTF-8 repair, truncation).
constexpr size_t kMaxMetricLineNameBytes = 256;
constexpr size_t kMetricLineBufferBytes = kMaxMetricLineNameBytes + 160;
size_t metric_line(std::string_view name, int64_t iteration, double value, int64_t ts_ms,
                   char (&out)[kMetricLineBufferBytes]);

}  // namespace radflow
