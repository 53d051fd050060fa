// The two ends of an attempt: starting its workers and taking in what they made.
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "orchestrator/scheduler/attempt_executor_record.h"
#include "orchestrator/scheduler/scheduler.h"
#include "orchestrator/scheduler/scheduler_state.h"
#include "orchestrator/scheduler/output_ingest.h"
#include "orchestrator/scheduler/scheduler_metrics.h"

namespace radflow {
namespace fs = std::filesystem;

namespace {

// The attempt's devices for its row: the daemon's GPUs it holds, or, for an
// executor with resources of its own, how many it asked there ("slurm: 2 GPUs").
std::string devices_text(const Allocation& allocation, const std::string& executor,
                         const Resources& asked, bool on_daemon_pool) {
  if (!on_daemon_pool) {
    return executor + ": " + (asked.gpus > 0 ? std::to_string(asked.gpus) + " GPUs" : "cpu");
  }
  if (allocation.gpus.empty()) return "cpu";
  std::string text = "cuda:";
  for (size_t i = 0; i < allocation.gpus.size(); ++i) {
    text += (i ? "," : "") + std::to_string(allocation.gpus[i]);
  }
  return text;
}

// A failed attempt on a (nearly) full disk usually fails with whatever its plugin
// says about a short write: say what radflow can see, that the disk holding the
// data folder is full. "" when it is not.
std::string full_disk_note(const fs::path& data_dir) {
  struct statvfs fs_stat {};
  if (statvfs(data_dir.c_str(), &fs_stat) != 0) return "";
  const double free_bytes = static_cast<double>(fs_stat.f_bavail) * fs_stat.f_frsize;
  const double size_bytes = static_cast<double>(fs_stat.f_blocks) * fs_stat.f_frsize;
  if (free_bytes >= 64.0 * 1024 * 1024 && free_bytes >= 0.01 * size_bytes) return "";
  char note[160];
  std::snprintf(note, sizeof(note),
                " (the disk holding the data folder is full: %.1f MB free of %.1f MB)",
                free_bytes / 1e6, size_bytes / 1e6);
  return note;
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

// ingest_outputs for a succeeded attempt; an exception (the filesystem library's)
// becomes an error, as this may run on an executor's thread.
Result<std::map<std::string, storage::StoredArtifact>> take_in_outputs(
    storage::ArtifactStore& artifacts, const std::string& dir, const AttemptOutcome& outcome) {
  try {
    return ingest_outputs(artifacts, dir, outcome.outputs, outcome.output_digests);
  } catch (const std::exception& e) {
    return Status::error("output_failed", std::string("cannot take the outputs in: ") + e.what(),
                         dir);
  }
}

}  // namespace

std::function<void(const AttemptOutcome&)> Scheduler::on_attempt_end(
    int64_t run_id, const std::string& step, const std::string& dir,
    std::shared_ptr<TakenIn> taken_in) {
  return [this, run_id, step, dir, taken_in = std::move(taken_in)](const AttemptOutcome& outcome) {
    taken_in->exited_ms = storage::now_ms();
    workers_exited(run_id, step);
    if (outcome.status == to_string(AttemptStatus::kSucceeded)) {
      taken_in->outputs = take_in_outputs(*artifacts_, dir, outcome);
    }
    attempt_ended(run_id, step);
  };
}

void Scheduler::start_attempt(RunState& run, StepState& step, const Allocation& allocation) {
  auto fail_now = [&](const std::string& reason, const std::string& message) {
    pool_.release(allocation);
    ++step.failures;
    set_step_status(run, step, StepStatus::kFailed, reason, message);
  };
  std::string executor_name;
  Executor* executor = executor_for(step.spec, &executor_name);
  if (executor == nullptr) {
    // Validation knew the daemon's executors; a run stored under other ones did not.
    std::string known;
    for (const auto& [name, unused] : executors_) known += (known.empty() ? "" : ", ") + name;
    fail_now("executor_missing", "step asks for executor \"" + executor_name +
                                     "\", which this daemon does not have (it has: " + known +
                                     ")");
    return;
  }
  auto plugin = registry_->find(step.spec.plugin);
  if (!plugin) {
    fail_now("plugin_missing", "plugin " + step.spec.plugin + " is no longer in " +
                                   registry_->plugin_dir());
    return;
  }
  // Validation held the paths to the roots of the daemon that took the run; a run
  // stored before a restart under other --data-root flags is held to today's.
  std::vector<Error> refused;
  check_path_params(step.spec.params, nullptr, plugin->params_schema,
                    "/steps/" + step.spec.name + "/params", options_.data_roots, &refused);
  if (!refused.empty()) {
    fail_now(refused.front().code, refused.front().message);
    return;
  }
  const std::string devices =
      devices_text(allocation, executor_name, step.spec.resources, on_daemon_pool(step.spec));
  auto active = std::make_unique<ActiveAttempt>();
  active->number = ++step.attempts_started;
  active->allocation = allocation;
  active->dir = fs::path(options_.data_dir) / "runs" / std::to_string(run.id) / step.spec.name /
                ("attempt-" + std::to_string(active->number));
  auto inputs = bound_inputs(run, step);
  if (!inputs.ok()) {
    fail_now("input_missing", inputs.status().message());
    return;
  }
  // The attempt's row and its lineage: one commit, before any worker exists, so a
  // crash from here on finds the attempt. The attempt's folder (and, for recovery
  // after a restart, which executor runs it) is made while that commit's fsync runs.
  storage::Store::AttemptStart begin;
  begin.step_id = step.id;
  begin.number = active->number;
  begin.devices = devices;
  for (const auto& [input, source] : *inputs) begin.inputs.emplace_back(input, source.artifact_id);
  auto begun = store_->begin_attempt_async(begin);
  Status recorded_executor = record_attempt_executor(active->dir.string(), executor_name);
  auto attempt_id = begun.get();
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
  for (const auto& [input, source] : *inputs) launch.inputs[input] = source.path;
  launch.attempt_dir = active->dir.string();
  launch.attempt_number = active->number;
  // Validation bounds both; runs stored before those bounds existed are held to
  // them here.
  launch.ranks = std::clamp(step.spec.resources.ranks, 1, std::max(1, options_.max_ranks));
  const int launch_ranks = launch.ranks;
  launch.gpus = allocation.gpus;
  launch.cpus = step.spec.resources.cpus;
  launch.memory_gb = step.spec.resources.memory_gb;
  launch.gpu_count = step.spec.resources.gpus;
  launch.timeout_s = std::clamp(step.spec.timeout_s, 0.0, kMaxTimeoutS);
  launch.grace_s = options_.grace_s;
  // The slots the attempt is charged, also where the pool pays nothing (Slurm),
  // so a step's threads do not depend on where it runs.
  launch.env["RADFLOW_CPUS"] =
      std::to_string(static_cast<int>(std::ceil(charged_cpus(step.spec.resources))));
  launch.env["RADFLOW_RUN_ID"] = std::to_string(run.id);
  launch.env["RADFLOW_STEP"] = step.spec.name;
  launch.env_passthrough = options_.pass_env;
  launch.confine = options_.confine;
  launch.confine_read = options_.data_roots.roots();
  // Inputs may name files of earlier artifacts (a features artifact names its
  // dataset's masks); the store is immutable and read-only, so all of it is readable.
  launch.confine_read.push_back(artifacts_->root());
  launch.run_id = run.id;
  launch.step_name = step.spec.name;
  launch.attempt_id = active->attempt_id;
  launch.executor_options = step.spec.executor_options;
  active->executor = executor_name;
  active->started_at = clock_->now();

  active->recorder = std::make_unique<AttemptRecorder>(
      store_, bus_, run.id, step.spec.name, step.id, active->attempt_id,
      on_attempt_end(run.id, step.spec.name, active->dir.string(), active->taken_in),
      options_.max_log_bytes_per_attempt);
  auto running = recorded_executor.ok()
                     ? executor->start(std::move(launch), active->recorder.get())
                     : Result<std::unique_ptr<AttemptHandle>>(recorded_executor);
  if (!running.ok()) {
    (void)store_->finish_attempt(active->attempt_id, to_string(AttemptStatus::kFailed),
                                 "spawn_failed",
                                 running.status().message(), std::nullopt, std::nullopt);
    fail_now("spawn_failed", running.status().message());
    return;
  }
  active->running = std::move(running).value();
  storage::Store::AttemptRunning running_rows;
  running_rows.run_id = run.id;
  running_rows.start_run = run.status == RunStatus::kQueued;
  running_rows.step_id = step.id;
  running_rows.attempt_id = active->attempt_id;
  running_rows.pids = active->running->pids();
  log_to_step(step.id, active->attempt_id, "info",
              "attempt " + std::to_string(active->number) + " started on " +
                  devices + " (" + plugin->name + " " + plugin->version +
                  "; " + executor_name + ": " + active->running->where() + ")");
  // Ranks, not pids: executors without local processes report none.
  scheduler_metrics::attempt_started(plugin->name, static_cast<size_t>(launch_ranks),
                                     allocation.gpus.size(), allocation.cpus);
  step.active = std::move(active);
  ++run.active_steps;
  std::vector<nlohmann::json> announcements;
  apply_step_status(run, step, StepStatus::kRunning, "", "", &announcements);
  // The pids, the step and a queued run turning running: the second commit, which
  // this thread does not wait for; the writer commits it with whatever else is
  // queued (an end's commit comes after it). Its announcements go out once it is
  // committed, so a client that hears "running" reads it; a refused write fails
  // the run and stops the attempt, as when this thread waited.
  write_submitted();
  store_->attempt_running_then(
      running_rows, [this, run_id = run.id, name = step.spec.name,
                     announcements = std::move(announcements)](Status recorded) {
        if (recorded.ok()) {
          for (const auto& event : announcements) bus_->publish(event);
        }
        write_answered([&] {
          if (recorded.ok()) return;
          Command fail;
          fail.run_id = run_id;
          fail.fail_message = "cannot record step " + name + " as running: " + recorded.to_string();
          commands_.push_back(std::move(fail));
        });
      });
}

void Scheduler::finish_attempt(RunState& run, StepState& step) {
  std::unique_ptr<ActiveAttempt> active = std::move(step.active);
  --run.active_steps;
  AttemptOutcome outcome = active->running->wait();
  release_slots(*active);

  std::map<std::string, storage::StoredArtifact> stored;
  if (outcome.status == "succeeded") {
    // The end callback took them in (on_attempt_end); an executor that ended the
    // attempt without calling it leaves that to this thread.
    auto ingested = active->taken_in->outputs
                        ? std::move(*active->taken_in->outputs)
                        : take_in_outputs(*artifacts_, active->dir.string(), outcome);
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
  scheduler_metrics::attempt_ended(
      step.spec.plugin, outcome.status, outcome.reason,
      std::chrono::duration<double>(clock_->now() - active->started_at).count(),
      static_cast<size_t>(std::max(1, step.spec.resources.ranks)), active->allocation.gpus.size(),
      active->allocation.cpus);

  // What the step becomes, decided before anything is written.
  auto pending = std::make_unique<PendingFinish>();
  pending->attempt_id = active->attempt_id;
  pending->number = active->number;
  pending->reason = outcome.reason;
  pending->message = outcome.message;
  // The executor lost the attempt (a node failed, a job was preempted): the step
  // runs again at once and the retry budget is untouched, as after a shutdown.
  const bool lost = ended != AttemptStatus::kSucceeded && outcome.reason == "lost";
  if (ended == AttemptStatus::kSucceeded) {
    pending->next = StepStatus::kSucceeded;
    pending->reason.clear();
    pending->message.clear();
  } else if (lost && !run.cancel_requested) {
    pending->next = StepStatus::kQueued;
    pending->reason = "lost";
    pending->message = "attempt " + std::to_string(active->number) + " was lost (" +
                       outcome.message + "); running it again";
  } else if (ended == AttemptStatus::kCancelled && run.cancel_requested) {
    pending->next = StepStatus::kCancelled;
    pending->reason = "cancelled";
  } else if (step.failures + 1 <= step.spec.retries && !run.cancel_requested) {
    pending->next = StepStatus::kQueued;
    pending->reason = "retrying";
    pending->message = "attempt " + std::to_string(active->number) + " failed (" +
                       outcome.reason + "): " + outcome.message;
  } else if (ended == AttemptStatus::kCancelled) {
    pending->next = StepStatus::kCancelled;
  }
  pending->counts_as_failure = pending->next != StepStatus::kSucceeded && !lost &&
                               !(ended == AttemptStatus::kCancelled && run.cancel_requested);
  pending->end.status = lost ? to_string(AttemptStatus::kLost) : outcome.status;
  pending->end.reason = outcome.reason;
  pending->end.message = outcome.message;
  pending->end.signal = outcome.signal ? std::optional<int>(outcome.signal) : std::nullopt;
  pending->end.exit_code = outcome.signal ? std::nullopt : std::optional<int>(outcome.exit_code);
  pending->end.finished_ms = active->taken_in->exited_ms;
  pending->stored = std::move(stored);
  if (ended != AttemptStatus::kSucceeded) {
    const std::string note = full_disk_note(options_.data_dir);
    if (!note.empty()) {
      pending->message += note;
      pending->end.message += note;
    }
    // A failed attempt's partial outputs are never used (resume state lives in the
    // step folder, not in outputs/): free their space now, which is also what lets
    // a full disk take the failure's record.
    std::error_code ec;
    fs::remove_all(active->dir / "outputs", ec);
  }
  step.pending_finish = std::move(pending);
  commit_finish(run, step);
}

void Scheduler::commit_finish(RunState& run, StepState& step) {
  PendingFinish& pending = *step.pending_finish;
  if (pending.in_flight || clock_->now() < pending.retry_at) return;
  // The attempt's end, its outputs and the step's status: one transaction.
  pending.in_flight = true;
  pending.answer = std::make_shared<std::optional<Result<std::vector<int64_t>>>>();
  write_submitted();
  store_->finish_attempt_with_outputs_then(
      pending.attempt_id, pending.end, step.id,
      {to_string(pending.next), pending.reason, pending.message}, artifact_records(pending.stored),
      [this, run_id = run.id, name = step.spec.name,
       answer = pending.answer](Result<std::vector<int64_t>> ids) {
        *answer = std::move(ids);
        write_answered([&] { recorded_.emplace_back(run_id, name); });
      });
}

void Scheduler::finish_recorded(RunState& run, StepState& step) {
  PendingFinish& pending = *step.pending_finish;
  pending.in_flight = false;
  Result<std::vector<int64_t>> ids = std::move(**pending.answer);
  pending.answer.reset();
  if (!ids.ok()) {
    if (!pending.reported) {
      spdlog::error("step {} attempt {}: cannot record its end yet ({}); retrying until the "
                    "database takes it", step.spec.name, pending.number, ids.status().to_string());
    }
    pending.reported = true;
    pending.retry_at = clock_->now() + std::chrono::seconds(1);
    add_timer(pending.retry_at, run.id, step.spec.name);
    return;
  }
  if (pending.reported) {
    spdlog::info("step {} attempt {}: its end is recorded after all", step.spec.name,
                 pending.number);
  }
  const PendingFinish done = std::move(pending);
  step.pending_finish.reset();
  const bool succeeded = done.end.status == to_string(AttemptStatus::kSucceeded);
  log_to_step(step.id, done.attempt_id, succeeded ? "info" : "error",
              "attempt " + std::to_string(done.number) + " " + done.end.status +
                  (done.end.reason.empty() || done.end.reason == "ok" ? "" : " (" + done.end.reason + ")") +
                  (done.end.message.empty() ? "" : ": " + done.end.message));
  if (done.next == StepStatus::kSucceeded) {
    step.outputs.clear();
    size_t i = 0;
    for (const auto& [name, artifact] : done.stored) {
      step.outputs[name] = {(*ids)[i++], artifact.digest, artifact.path};
    }
  }
  if (done.counts_as_failure) ++step.failures;
  if (done.next == StepStatus::kQueued && done.counts_as_failure) {
    const double delay_s = std::min(options_.retry_backoff_max_s,
                                    options_.retry_backoff_s * std::pow(2.0, step.failures - 1));
    step.not_before = clock_->now() + seconds_to_duration(delay_s);
  }
  apply_step_status(run, step, done.next, done.reason, done.message);
}

}  // namespace radflow
