// The two ends of an attempt: starting its workers and taking in what they made.
#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>

#include "orchestrator/scheduler/scheduler.h"
#include "orchestrator/scheduler/scheduler_state.h"
#include "orchestrator/scheduler/output_ingest.h"

namespace radflow {
namespace fs = std::filesystem;

namespace {

std::string devices_text(const Allocation& allocation) {
  if (allocation.gpus.empty()) return "cpu";
  std::string text = "cuda:";
  for (size_t i = 0; i < allocation.gpus.size(); ++i) {
    text += (i ? "," : "") + std::to_string(allocation.gpus[i]);
  }
  return text;
}

// The workers succeeded but radflow could not take their outputs in.
AttemptOutcome failed_outcome(const std::string& reason, const std::string& message) {
  AttemptOutcome outcome;
  outcome.status = "failed";
  outcome.reason = reason;
  outcome.message = message;
  outcome.exit_code = 0;
  return outcome;
}

}  // namespace

Result<std::map<std::string, StepOutput>> Scheduler::record_outputs_locked(
    StepState& step, int64_t attempt_id,
    const std::map<std::string, storage::StoredArtifact>& stored) {
  std::map<std::string, StepOutput> outputs;
  for (const auto& [name, artifact] : stored) {
    storage::ArtifactRecord record;
    record.digest = artifact.digest;
    record.kind = artifact.kind;
    record.size_bytes = artifact.size_bytes;
    record.producer_attempt_id = attempt_id;
    record.step_id = step.id;
    record.output_name = name;
    RF_ASSIGN_OR_RETURN(int64_t artifact_id, store_->add_artifact(record));
    outputs[name] = {artifact_id, artifact.digest, artifact.path};
  }
  return outputs;
}

void Scheduler::start_attempt_locked(RunState& run, StepState& step, const Allocation& allocation) {
  auto fail_now = [&](const std::string& reason, const std::string& message) {
    pool_.release(allocation);
    ++step.failures;
    set_step_status_locked(run, step, "failed", reason, message);
  };
  auto plugin = registry_->find(step.spec.plugin);
  if (!plugin) {
    fail_now("plugin_missing", "plugin " + step.spec.plugin + " is no longer in " +
                                   registry_->plugin_dir());
    return;
  }
  auto active = std::make_unique<ActiveAttempt>();
  active->number = ++step.attempts_started;
  active->allocation = allocation;
  active->dir = fs::path(options_.data_dir) / "runs" / std::to_string(run.id) / step.spec.name /
                ("attempt-" + std::to_string(active->number));
  auto attempt_id = store_->create_attempt(step.id, active->number, devices_text(allocation));
  if (!attempt_id.ok()) {
    fail_now("storage_error", attempt_id.status().message());
    return;
  }
  active->attempt_id = *attempt_id;

  AttemptLaunch launch;
  launch.worker_path = options_.worker_path;
  launch.plugin_path = plugin->path;
  launch.plugin_dir = registry_->plugin_dir();
  launch.plugin_name = plugin->name;
  launch.params = step.spec.params;
  for (const auto& input : step.spec.inputs) {
    const StepOutput& source = run.steps.at(input.step).outputs.at(input.output);
    launch.inputs[input.input] = source.path;
    Status lineage = store_->add_attempt_input(active->attempt_id, input.input, source.artifact_id);
    if (!lineage.ok()) spdlog::error("cannot record lineage: {}", lineage.to_string());
  }
  launch.attempt_dir = active->dir.string();
  launch.attempt_number = active->number;
  launch.ranks = std::max(1, step.spec.resources.ranks);
  launch.gpus = allocation.gpus;
  launch.timeout_s = step.spec.timeout_s;
  launch.grace_s = options_.grace_s;
  launch.env["RADFLOW_CPUS"] = std::to_string(static_cast<int>(std::ceil(allocation.cpus)));
  launch.env["RADFLOW_RUN_ID"] = std::to_string(run.id);
  launch.env["RADFLOW_STEP"] = step.spec.name;

  active->recorder = std::make_unique<AttemptRecorder>(
      store_, bus_, run.id, step.spec.name, step.id, active->attempt_id,
      [this] { wake_.notify_all(); });
  auto running = RunningAttempt::start(std::move(launch), active->recorder.get());
  if (!running.ok()) {
    (void)store_->finish_attempt(active->attempt_id, "failed", "spawn_failed",
                                 running.status().message(), std::nullopt, std::nullopt);
    fail_now("spawn_failed", running.status().message());
    return;
  }
  active->running = std::move(running).value();
  Status pids = store_->set_attempt_pids(active->attempt_id, active->running->pids());
  if (!pids.ok()) spdlog::error("cannot record worker pids: {}", pids.to_string());
  log_to_step(step.id, active->attempt_id, "info",
              "attempt " + std::to_string(active->number) + " started on " +
                  devices_text(allocation) + " (" + plugin->name + " " + plugin->version + ")");
  step.active = std::move(active);
  set_step_status_locked(run, step, "running", "", "");
}

void Scheduler::finish_attempt_locked(RunState& run, StepState& step) {
  std::unique_ptr<ActiveAttempt> active = std::move(step.active);
  AttemptOutcome outcome = active->running->wait();
  pool_.release(active->allocation);

  std::map<std::string, StepOutput> outputs;
  if (outcome.status == "succeeded") {
    // Hashing and moving outputs (a checkpoint is hundreds of MB) takes seconds: do it
    // without the lock so the API stays responsive. Safe: only this thread changes
    // run state, the step has no active attempt meanwhile, and std::map iterators
    // survive the inserts submit() and retry() make.
    mutex_.unlock();
    auto stored = ingest_outputs(*artifacts_, active->dir.string(), outcome.outputs);
    mutex_.lock();
    auto recorded = stored.ok() ? record_outputs_locked(step, active->attempt_id, *stored)
                                : Result<std::map<std::string, StepOutput>>(stored.status());
    if (recorded.ok()) {
      outputs = std::move(recorded).value();
    } else {
      outcome = failed_outcome(recorded.status().code(), recorded.status().message());
    }
  }
  const std::optional<int> signal =
      outcome.signal ? std::optional<int>(outcome.signal) : std::nullopt;
  const std::optional<int> exit_code =
      outcome.signal ? std::nullopt : std::optional<int>(outcome.exit_code);
  Status recorded = store_->finish_attempt(active->attempt_id, outcome.status, outcome.reason,
                                           outcome.message, exit_code, signal);
  if (!recorded.ok()) spdlog::error("cannot record attempt end: {}", recorded.to_string());
  log_to_step(step.id, active->attempt_id, outcome.status == "succeeded" ? "info" : "error",
              "attempt " + std::to_string(active->number) + " " + outcome.status +
                  (outcome.reason.empty() || outcome.reason == "ok" ? "" : " (" + outcome.reason + ")") +
                  (outcome.message.empty() ? "" : ": " + outcome.message));

  if (outcome.status == "succeeded") {
    step.outputs = std::move(outputs);
    set_step_status_locked(run, step, "succeeded", "", "");
    return;
  }
  if (outcome.status == "cancelled" && run.cancel_requested) {
    set_step_status_locked(run, step, "cancelled", "cancelled", outcome.message);
    return;
  }
  ++step.failures;
  if (step.failures <= step.spec.retries && !run.cancel_requested) {
    double delay_s = std::min(options_.retry_backoff_max_s,
                              options_.retry_backoff_s * std::pow(2.0, step.failures - 1));
    step.not_before = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(delay_s));
    set_step_status_locked(run, step, "queued", "retrying",
                           "attempt " + std::to_string(active->number) + " failed (" +
                               outcome.reason + "): " + outcome.message);
    return;
  }
  set_step_status_locked(run, step, outcome.status == "cancelled" ? "cancelled" : "failed",
                         outcome.reason, outcome.message);
}

}  // namespace radflow
