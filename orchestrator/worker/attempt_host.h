// AttemptHost: the worker's side of rf_host for one run() call. It owns the host
// table and every string the table points to (params_json, inputs_json,
// output_dir, device), so they stay alive for the whole run, and turns the
// plugin's callbacks into events on an EventSink.
//
// Borrows the sink, the descriptor and the cancellation flag; all must outlive it.
// Every callback is thread-safe: plugins may call them from any thread at once.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "orchestrator/worker/attempt_spec.h"
#include "orchestrator/worker/event_sink.h"
#include "orchestrator/worker/plugin_descriptor.h"
#include "radflow/plugin.h"

namespace radflow {

class AttemptHost {
 public:
  // `cancelled` is set (non-zero) by the signal handler on SIGTERM/SIGINT.
  AttemptHost(const AttemptSpec& spec, const PluginDescriptor& descriptor, EventSink* sink,
              const std::atomic<int>* cancelled);
  AttemptHost(const AttemptHost&) = delete;
  AttemptHost& operator=(const AttemptHost&) = delete;

  const rf_host* table() const { return &table_; }

  // The last message passed to fail(); empty if none.
  std::string failure_message() const;
  // Output name -> absolute path, for every accepted register_output.
  std::map<std::string, std::string> registered_outputs() const;
  bool cancelled() const { return cancelled_->load() != 0; }

 private:
  static AttemptHost* self(void* ctx) { return static_cast<AttemptHost*>(ctx); }
  static void on_log(void* ctx, int32_t level, const char* message);
  static void on_metric(void* ctx, const char* name, int64_t iteration, double value);
  static void on_progress(void* ctx, double fraction, const char* message);
  static int32_t on_register_output(void* ctx, const char* name, const char* path);
  static int32_t on_is_cancelled(void* ctx);
  static void on_fail(void* ctx, const char* message);

  const PluginDescriptor& descriptor_;
  EventSink* sink_;
  const std::atomic<int>* cancelled_;
  std::string params_json_;
  std::string inputs_json_;
  std::string output_dir_;
  std::string device_;
  rf_host table_{};

  mutable std::mutex mutex_;
  std::string failure_message_;                 // guarded by mutex_
  std::map<std::string, std::string> outputs_;  // guarded by mutex_
};

}  // namespace radflow
