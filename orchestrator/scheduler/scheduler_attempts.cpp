// The two ends of an attempt: starting its workers and taking in what they made.
#include <spdlog/spdlog.h>

#include <algorithm>
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
  outcome.status = to_string(AttemptStatus::kFailed);
  outcome.reason = reason;
  outcome.message = message;
  outcome.exit_code = 0;
  return outcome;
}

// Releases a held mutex for a scope and takes it back on the way out, exceptions
// included.
class Unlocked {
 public:
  explicit Unlocked(std::mutex& mutex) : mutex_(mutex) { mutex_.unlock(); }
  ~Unlocked() { mutex_.lock(); }
  Unlocked(const Unlocked&) = delete;
  Unlocked& operator=(const Unlocked&) = delete;

 private:
  std::mutex& mutex_;
};

}  // namespace

void Scheduler::start_attempt_locked(RunState& run, StepState& step, const Allocation& allocation) {
  auto fail_now = [&](const std::string& reason, const std::string& message) {
    pool_.release(allocation);
    ++step.failures;
    set_step_status_locked(run, step, StepStatus::kFailed, reason, message);
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
  auto inputs = bound_inputs_locked(run, step);
  if (!inputs.ok()) {
    (void)store_->finish_attempt(active->attempt_id, to_string(AttemptStatus::kFailed),
                                 "input_missing",
                                 inputs.status().message(), std::nullopt, std::nullopt);
    fail_now("input_missing", inputs.status().message());
    return;
  }
  for (const auto& [input, source] : *inputs) {
    launch.inputs[input] = source.path;
    Status lineage = store_->add_attempt_input(active->attempt_id, input, source.artifact_id);
    if (!lineage.ok()) spdlog::error("cannot record lineage: {}", lineage.to_string());
  }
  launch.attempt_dir = active->dir.string();
  launch.attempt_number = active->number;
  // Validation bounds both; runs stored before those bounds existed are held to
  // them here.
  launch.ranks = std::clamp(step.spec.resources.ranks, 1, std::max(1, options_.max_ranks));
  launch.gpus = allocation.gpus;
  launch.timeout_s = std::clamp(step.spec.timeout_s, 0.0, kMaxTimeoutS);
  launch.grace_s = options_.grace_s;
  launch.env["RADFLOW_CPUS"] = std::to_string(static_cast<int>(std::ceil(allocation.cpus)));
  launch.env["RADFLOW_RUN_ID"] = std::to_string(run.id);
  launch.env["RADFLOW_STEP"] = step.spec.name;

  active->recorder = std::make_unique<AttemptRecorder>(
      store_, bus_, run.id, step.spec.name, step.id, active->attempt_id,
      [this] { wake_.notify_all(); }, options_.max_log_bytes_per_attempt);
  auto running = RunningAttempt::start(std::move(launch), active->recorder.get());
  if (!running.ok()) {
    (void)store_->finish_attempt(active->attempt_id, to_string(AttemptStatus::kFailed),
                                 "spawn_failed",
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
  set_step_status_locked(run, step, StepStatus::kRunning, "", "");
}

void Scheduler::finish_attempt_locked(RunState& run, StepState& step) {
  std::unique_ptr<ActiveAttempt> active = std::move(step.active);
  AttemptOutcome outcome = active->running->wait();
  pool_.release(active->allocation);

  std::map<std::string, storage::StoredArtifact> stored;
  if (outcome.status == "succeeded") {
    // Hashing and moving outputs (a checkpoint is hundreds of MB) takes seconds: do it
    // without the lock so the API stays responsive. Safe: only this thread changes
    // run state, the step has no active attempt meanwhile, and std::map iterators
    // survive the inserts submit() and retry() make.
    Result<std::map<std::string, storage::StoredArtifact>> ingested =
        Status::error("output_failed", "not ingested");
    {
      Unlocked unlocked(mutex_);
      ingested = ingest_outputs(*artifacts_, active->dir.string(), outcome.outputs);
    }
    if (ingested.ok()) {
      stored = std::move(ingested).value();
    } else {
      outcome = failed_outcome(ingested.status().code(), ingested.status().message());
    }
  }
  if (!attempt_status_from(outcome.status)) {
    outcome = failed_outcome("worker_exited", "the worker reported an unknown status \"" +
                                                  outcome.status + "\": " + outcome.message);
  }
  const AttemptStatus ended = *attempt_status_from(outcome.status);

  // What the step becomes, decided before anything is written.
  StepStatus next = StepStatus::kFailed;
  std::string reason = outcome.reason, message = outcome.message;
  if (ended == AttemptStatus::kSucceeded) {
    next = StepStatus::kSucceeded;
    reason.clear();
    message.clear();
  } else if (ended == AttemptStatus::kCancelled && run.cancel_requested) {
    next = StepStatus::kCancelled;
    reason = "cancelled";
  } else if (step.failures + 1 <= step.spec.retries && !run.cancel_requested) {
    next = StepStatus::kQueued;
    reason = "retrying";
    message = "attempt " + std::to_string(active->number) + " failed (" + outcome.reason +
              "): " + outcome.message;
  } else if (ended == AttemptStatus::kCancelled) {
    next = StepStatus::kCancelled;
  }

  // The attempt's end, its outputs and the step's status: one transaction.
  storage::AttemptEnd end;
  end.status = outcome.status;
  end.reason = outcome.reason;
  end.message = outcome.message;
  end.signal = outcome.signal ? std::optional<int>(outcome.signal) : std::nullopt;
  end.exit_code = outcome.signal ? std::nullopt : std::optional<int>(outcome.exit_code);
  const std::vector<storage::ArtifactRecord> records = artifact_records(stored);
  auto ids = store_->finish_attempt_with_outputs(active->attempt_id, end, step.id,
                                                 {to_string(next), reason, message}, records);
  if (!ids.ok()) {
    // The database did not take the outcome: the step fails visibly. If even that
    // cannot be written, the attempt stays "running" in the database and a restart
    // treats it as lost and runs it again.
    const std::string why = "radflow could not record the attempt's end: " + ids.status().message();
    spdlog::error("step {} attempt {}: {}", step.spec.name, active->number, why);
    storage::AttemptEnd failed{to_string(AttemptStatus::kFailed), "storage_error", why,
                               end.exit_code, end.signal};
    (void)store_->finish_attempt_with_outputs(active->attempt_id, failed, step.id,
                                              {to_string(StepStatus::kFailed), "storage_error", why},
                                              {});
    ++step.failures;
    apply_step_status_locked(run, step, StepStatus::kFailed, "storage_error", why);
    return;
  }
  log_to_step(step.id, active->attempt_id, ended == AttemptStatus::kSucceeded ? "info" : "error",
              "attempt " + std::to_string(active->number) + " " + outcome.status +
                  (outcome.reason.empty() || outcome.reason == "ok" ? "" : " (" + outcome.reason + ")") +
                  (outcome.message.empty() ? "" : ": " + outcome.message));
  if (next == StepStatus::kSucceeded) {
    step.outputs.clear();
    size_t i = 0;
    for (const auto& [name, artifact] : stored) {
      step.outputs[name] = {(*ids)[i++], artifact.digest, artifact.path};
    }
  } else if (next != StepStatus::kCancelled || ended != AttemptStatus::kCancelled ||
             !run.cancel_requested) {
    ++step.failures;
  }
  if (next == StepStatus::kQueued) {
    const double delay_s = std::min(options_.retry_backoff_max_s,
                                    options_.retry_backoff_s * std::pow(2.0, step.failures - 1));
    step.not_before = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(delay_s));
  }
  apply_step_status_locked(run, step, next, reason, message);
}

}  // namespace radflow
