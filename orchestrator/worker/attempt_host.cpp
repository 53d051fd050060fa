#include "orchestrator/worker/attempt_host.h"

#include <filesystem>
#include <system_error>

namespace radflow {

AttemptHost::AttemptHost(const AttemptSpec& spec, const PluginDescriptor& descriptor,
                         EventSink* sink, const std::atomic<int>* cancelled)
    : descriptor_(descriptor),
      sink_(sink),
      cancelled_(cancelled),
      params_json_(spec.params.dump()),
      inputs_json_(nlohmann::json(spec.inputs).dump()),
      output_dir_(spec.output_dir),
      device_(spec.device) {
  table_.version = RF_HOST_VERSION;
  table_.struct_size = sizeof(rf_host);
  table_.ctx = this;
  table_.params_json = params_json_.c_str();
  table_.inputs_json = inputs_json_.c_str();
  table_.output_dir = output_dir_.c_str();
  table_.rank = spec.rank;
  table_.world_size = spec.world_size;
  table_.local_rank = spec.local_rank;
  table_.device = device_.c_str();
  table_.log = &AttemptHost::on_log;
  table_.metric = &AttemptHost::on_metric;
  table_.progress = &AttemptHost::on_progress;
  table_.register_output = &AttemptHost::on_register_output;
  table_.is_cancelled = &AttemptHost::on_is_cancelled;
  table_.fail = &AttemptHost::on_fail;
}

std::string AttemptHost::failure_message() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_message_;
}

std::map<std::string, std::string> AttemptHost::registered_outputs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return outputs_;
}

void AttemptHost::on_log(void* ctx, int32_t level, const char* message) {
  self(ctx)->sink_->emit(log_event(level, message ? message : ""));
}

void AttemptHost::on_metric(void* ctx, const char* name, int64_t iteration, double value) {
  if (name == nullptr || *name == '\0') {
    self(ctx)->sink_->emit(log_event(RF_LOG_ERROR, "metric() called without a name; dropped"));
    return;
  }
  self(ctx)->sink_->emit_metric(name, iteration, value);
}

void AttemptHost::on_progress(void* ctx, double fraction, const char* message) {
  self(ctx)->sink_->emit(progress_event(fraction, message ? message : ""));
}

int32_t AttemptHost::on_register_output(void* ctx, const char* name, const char* path) {
  AttemptHost* host = self(ctx);
  const std::string port = name ? name : "";
  if (host->descriptor_.find_output(port) == nullptr) {
    host->sink_->emit(log_event(RF_LOG_ERROR, "register_output: '" + port +
                                                  "' is not a declared output of " +
                                                  host->descriptor_.name));
    return -1;
  }
  if (path == nullptr || *path == '\0') {
    host->sink_->emit(log_event(RF_LOG_ERROR, "register_output('" + port + "'): empty path"));
    return -1;
  }
  // Relative paths are relative to output_dir, where outputs are written.
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(host->output_dir_) / p;
  std::error_code ec;
  p = std::filesystem::absolute(p, ec).lexically_normal();
  if (ec || !std::filesystem::exists(p, ec)) {
    host->sink_->emit(log_event(RF_LOG_ERROR, "register_output('" + port + "'): " + p.string() +
                                                  " does not exist"));
    return -1;
  }
  {
    std::lock_guard<std::mutex> lock(host->mutex_);
    host->outputs_[port] = p.string();
  }
  host->sink_->emit(output_event(port, p.string()));
  return 0;
}

int32_t AttemptHost::on_is_cancelled(void* ctx) { return self(ctx)->cancelled() ? 1 : 0; }

void AttemptHost::on_fail(void* ctx, const char* message) {
  AttemptHost* host = self(ctx);
  std::lock_guard<std::mutex> lock(host->mutex_);
  host->failure_message_ = message ? message : "";
}

}  // namespace radflow
