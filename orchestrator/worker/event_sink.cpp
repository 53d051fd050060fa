#include "orchestrator/worker/event_sink.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <utility>

#include "common/utf8.h"
#include "orchestrator/executor/event_line.h"
#include "radflow/plugin.h"

namespace radflow {
namespace {

// The futex syscall works on the atomic's 32-bit word itself.
static_assert(std::atomic<uint32_t>::is_always_lock_free &&
              sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

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
    if (!closed_) {
      closed_ = true;
      seal_locked();
    }
  }
  stop_flusher();  // it writes what is left before it exits
  auto free_list = [](Chunk* chunk) {
    while (chunk != nullptr) delete std::exchange(chunk, chunk->next);
  };
  free_list(current_);
  free_list(ready_.exchange(nullptr));
  free_list(spare_.exchange(nullptr));
  free_list(spare_taken_);
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
  bool sealed = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || broken_) return;
    if (current_ != nullptr && current_->text.size() + line.size() > kChunkBytes) {
      sealed = seal_locked();  // a line longer than kChunkBytes gets a chunk of its own
    }
    if (current_ == nullptr) {
      if (spare_taken_ == nullptr) {
        spare_taken_ = spare_.exchange(nullptr, std::memory_order_acquire);
      }
      if (spare_taken_ != nullptr) {
        current_ = std::exchange(spare_taken_, spare_taken_->next);
        current_->next = nullptr;
        spare_count_.fetch_sub(1, std::memory_order_relaxed);
      } else {
        current_ = new Chunk;
      }
    }
    current_->text += line;
    if (++current_->events >= kFlushThresholdEvents) sealed |= seal_locked();
  }
  if (sealed) wake_flusher();
}

bool EventSink::seal_locked() {
  Chunk* chunk = current_;
  if (chunk == nullptr || chunk->events == 0) return false;
  current_ = nullptr;
  chunk->next = ready_.load(std::memory_order_relaxed);
  while (!ready_.compare_exchange_weak(chunk->next, chunk, std::memory_order_release,
                                       std::memory_order_relaxed)) {
  }
  return true;
}

void EventSink::wake_flusher() {
  // Dekker-style with wait_for_chunks(): either the flusher sees the new count (and
  // the chunk pushed before it) and does not sleep, or this sees it waiting and wakes
  // it. FUTEX_WAKE never blocks the caller.
  wake_seq_.fetch_add(1);
  if (flusher_waiting_.load()) {
    ::syscall(SYS_futex, &wake_seq_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
}

bool EventSink::wait_for_chunks() {
  flusher_waiting_.store(true);
  const uint32_t seen = wake_seq_.load();
  bool interval_passed = false;
  if (ready_.load() == nullptr && !stopping_.load()) {
    timespec timeout{};
    timeout.tv_nsec = std::chrono::duration_cast<std::chrono::nanoseconds>(kFlushInterval).count();
    // Returns at once if wake_seq_ is no longer `seen`: no wake-up is lost.
    const long rc =
        ::syscall(SYS_futex, &wake_seq_, FUTEX_WAIT_PRIVATE, seen, &timeout, nullptr, 0);
    interval_passed = rc != 0 && errno == ETIMEDOUT;
  }
  flusher_waiting_.store(false);
  return interval_passed;
}

void EventSink::stop_flusher() {
  if (!flusher_.joinable()) return;
  stopping_ = true;
  wake_flusher();
  flusher_.join();
}

void EventSink::close(const nlohmann::json& end) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
    seal_locked();
  }
  stop_flusher();  // the flusher writes what is left before it exits
  write_all(to_line(end));
}

void EventSink::flusher_loop() {
  for (;;) {
    // Read before the last drain: every chunk sealed before stop was set is written.
    const bool stop = stopping_.load();
    if (!stop && wait_for_chunks()) {
      // Nothing sealed for a whole interval: take the partly filled chunk, unless a
      // plugin thread is in emit() right now (it seals soon, or the next round takes it).
      std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
      if (lock.owns_lock()) seal_locked();
    }
    write_ready();
    if (stop) return;
  }
}

void EventSink::write_ready() {
  // Enough for the chunks a plugin in a hot loop cycles through; a burst's extra go.
  constexpr size_t kMaxSpareChunks = 16;
  Chunk* newest = ready_.exchange(nullptr, std::memory_order_acquire);
  Chunk* oldest = nullptr;
  while (newest != nullptr) {
    Chunk* next = newest->next;
    newest->next = oldest;
    oldest = newest;
    newest = next;
  }
  // Only this thread writes until close() has joined it, so chunks stay in order.
  while (oldest != nullptr) {
    Chunk* chunk = std::exchange(oldest, oldest->next);
    write_all(chunk->text);
    if (spare_count_.load(std::memory_order_relaxed) >= kMaxSpareChunks ||
        chunk->text.capacity() > 2 * kChunkBytes) {
      delete chunk;
      continue;
    }
    chunk->text.clear();
    chunk->events = 0;
    chunk->next = spare_.load(std::memory_order_relaxed);
    while (!spare_.compare_exchange_weak(chunk->next, chunk, std::memory_order_release,
                                         std::memory_order_relaxed)) {
    }
    spare_count_.fetch_add(1, std::memory_order_relaxed);
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
