#include "orchestrator/worker/attempt_runner.h"

#include <filesystem>
#include <system_error>
#include <vector>

#include "orchestrator/worker/attempt_host.h"
#include "orchestrator/worker/plugin_descriptor.h"
#include "orchestrator/worker/plugin_loader.h"

namespace radflow {
namespace {

AttemptOutcome outcome(AttemptStatus status, std::string reason, std::string message) {
  return AttemptOutcome{status, std::move(reason), std::move(message)};
}

// The daemon validates bindings before it starts a worker; checking again here
// turns a daemon bug into a clear failure instead of a plugin surprise.
Status check_inputs(const AttemptSpec& spec, const PluginDescriptor& descriptor) {
  for (const auto& [name, path] : spec.inputs) {
    if (descriptor.find_input(name) == nullptr) {
      return Status::error("invalid_spec", "input '" + name + "' is not declared by plugin " +
                                               descriptor.name, "/inputs/" + name);
    }
  }
  for (const PluginPort& port : descriptor.inputs) {
    if (!port.optional && spec.inputs.count(port.name) == 0) {
      return Status::error("invalid_spec", "required input '" + port.name + "' of plugin " +
                                               descriptor.name + " is not bound", "/inputs");
    }
  }
  return Status();
}

std::string missing_outputs(const PluginDescriptor& descriptor,
                            const std::map<std::string, std::string>& registered) {
  std::string missing;
  for (const PluginPort& port : descriptor.outputs) {
    if (port.optional || registered.count(port.name) != 0) continue;
    missing += (missing.empty() ? "" : ", ") + port.name;
  }
  return missing;
}

// After dlopen, so that the plugin's libraries were found wherever the loader looks;
// libraries loaded later are found beside them (system_confinement()).
Status confine(const Confinement& attempt, EventSink* sink) {
  Confinement all = system_confinement();
  for (auto [to, from] : {std::pair{&all.read, &attempt.read},
                          std::pair{&all.read_exec, &attempt.read_exec},
                          std::pair{&all.read_write, &attempt.read_write}}) {
    to->insert(to->end(), from->begin(), from->end());
  }
  Result<ConfineResult> confined = confine_self(all);
  if (!confined.ok()) return confined.status();
  sink->emit(log_event(RF_LOG_DEBUG, *confined == ConfineResult::kConfined
                                         ? "confined with " + describe_landlock_support()
                                         : "not confined: " + describe_landlock_support()));
  return Status();
}

}  // namespace

std::string AttemptOutcome::status_name() const {
  switch (status) {
    case AttemptStatus::kSucceeded: return "succeeded";
    case AttemptStatus::kCancelled: return "cancelled";
    case AttemptStatus::kFailed: break;
  }
  return "failed";
}

int AttemptOutcome::exit_code() const {
  switch (status) {
    case AttemptStatus::kSucceeded: return 0;
    case AttemptStatus::kCancelled: return 3;
    case AttemptStatus::kFailed: break;
  }
  return 1;
}

nlohmann::json AttemptOutcome::to_end_event() const {
  return end_event(status_name(), reason, message);
}

nlohmann::json AttemptOutcome::to_result() const {
  nlohmann::json result = {{"end", to_end_event()}, {"outputs", outputs}};
  if (!output_digests.empty()) result["output_digests"] = output_digests;
  return result;
}

AttemptOutcome failed_outcome(const std::string& reason, const std::string& message) {
  return outcome(AttemptStatus::kFailed, reason, message);
}

AttemptOutcome run_attempt(const AttemptSpec& input_spec, EventSink* sink,
                           const std::atomic<int>* cancelled) {
  AttemptSpec spec = input_spec;
  std::error_code ec;
  spec.output_dir = std::filesystem::absolute(spec.output_dir, ec).lexically_normal().string();
  if (!ec) std::filesystem::create_directories(spec.output_dir, ec);
  if (ec) {
    return failed_outcome("invalid_spec",
                          "cannot create output_dir " + spec.output_dir + ": " + ec.message());
  }

  Result<LoadedPlugin> loaded = load_plugin(spec.plugin_path, spec.plugin_dir, spec.plugin_name);
  if (!loaded.ok()) return failed_outcome(loaded.status().code(), loaded.status().message());
  Result<PluginDescriptor> descriptor = parse_descriptor(loaded->plugin(), loaded->path());
  if (!descriptor.ok()) {
    return failed_outcome(descriptor.status().code(), descriptor.status().message());
  }
  if (Status s = check_inputs(spec, descriptor.value()); !s.ok()) {
    return failed_outcome(s.code(), s.message());
  }
  if (spec.confine) {
    if (Status s = confine(*spec.confine, sink); !s.ok()) {
      return failed_outcome(s.code(), s.message());
    }
  }

  AttemptHost host(spec, descriptor.value(), sink, cancelled);
  sink->emit(log_event(RF_LOG_DEBUG, "running plugin " + descriptor->name + " " +
                                         descriptor->version + " (rank " +
                                         std::to_string(spec.rank) + " of " +
                                         std::to_string(spec.world_size) + ")"));
  const int32_t rc = loaded->plugin().run(host.table());

  if (rc == RF_RUN_CANCELLED || host.cancelled()) {
    return outcome(AttemptStatus::kCancelled, "cancelled", "the attempt was cancelled");
  }
  const std::string failure = host.failure_message();
  switch (rc) {
    case RF_RUN_OK: break;
    case RF_RUN_FAILED:
      return failed_outcome("plugin_failed",
                            failure.empty() ? "plugin returned failure without a message" : failure);
    case RF_RUN_EXCEPTION:
      return failed_outcome("plugin_exception",
                            failure.empty() ? "plugin threw an exception without a message" : failure);
    default:
      return failed_outcome("plugin_failed", "plugin returned unknown code " + std::to_string(rc) +
                                                 (failure.empty() ? "" : ": " + failure));
  }
  // Outputs belong to the step, and by convention rank 0 registers them; other ranks
  // of a distributed step may register nothing.
  const std::string missing =
      spec.rank == 0 ? missing_outputs(descriptor.value(), host.registered_outputs()) : "";
  if (!missing.empty()) {
    return failed_outcome("missing_outputs",
                          "plugin " + descriptor->name + " did not register outputs: " + missing);
  }
  AttemptOutcome succeeded = outcome(AttemptStatus::kSucceeded, "ok", "");
  succeeded.outputs = host.registered_outputs();
  return succeeded;
}

}  // namespace radflow
