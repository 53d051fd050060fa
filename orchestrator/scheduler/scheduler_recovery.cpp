// The scheduler's memory: the step cache, retrying a finished run, and taking over
// after a crash.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "orchestrator/scheduler/attempt_executor_record.h"
#include "orchestrator/scheduler/output_ingest.h"
#include "orchestrator/scheduler/scheduler.h"
#include "orchestrator/scheduler/scheduler_metrics.h"
#include "orchestrator/scheduler/scheduler_state.h"
#include "orchestrator/workflow/canonical_json.h"

namespace radflow {
namespace fs = std::filesystem;

bool Scheduler::try_cache(RunState& run, StepState& step) {
  if (step.cache_checked) return false;
  step.cache_checked = true;
  std::vector<std::string> digests;
  auto inputs = bound_inputs(run, step);
  if (!inputs.ok()) return false;  // start_attempt fails the step with the reason
  for (const auto& [input, source] : *inputs) digests.push_back(source.digest);
  const std::string key = step_cache_key(step.spec, digests);
  if (!step.spec.cache) return false;  // opted out: neither reads nor publishes the key
  auto hit = store_->find_cached_step(key);
  if (!step.bypass_cache && hit.ok() && hit->has_value() && (*hit)->id != step.id) {
    const storage::StepRecord& source = **hit;
    auto outputs = store_->outputs_of_step(source.id);
    bool complete = outputs.ok();
    std::map<std::string, StepOutput> served;
    if (complete) {
      for (const auto& artifact : *outputs) {
        complete &= artifacts_->contains(artifact.digest);
        served[artifact.output_name] = {artifact.id, artifact.digest,
                                        artifacts_->path_of(artifact.digest)};
      }
    }
    if (complete) {
      // A plugin that read these outputs as inputs could have changed them (the
      // worker runs as radflow's user, read-only modes notwithstanding): serve them
      // only if their bytes still hash to their digests. Hashing runs at about
      // 100 MB/s (storage/README.md) on the scheduling thread, which holds no lock.
      for (const auto& [name, output] : served) {
        Status intact = artifacts_->verify(output.digest);
        if (!intact.ok()) {
          spdlog::warn("cache: not serving step {} from run {}: output {} {}", step.spec.name,
                       source.run_id, name, intact.message());
          complete = false;
          break;
        }
      }
    }
    if (complete) {
      step.outputs = std::move(served);
      Status recorded = store_->set_step_cache(step.id, key, source.id);
      if (!recorded.ok()) spdlog::error("cannot record cache hit: {}", recorded.to_string());
      set_step_status(run, step, StepStatus::kCached, "cache_hit",
                             "same plugin build, params and inputs as step " + source.name +
                                 " of run " + std::to_string(source.run_id));
      return true;
    }
  }
  // A miss: publish the key so this step's success serves later runs.
  Status recorded = store_->set_step_cache(step.id, key, 0);
  if (!recorded.ok()) spdlog::error("cannot record cache key: {}", recorded.to_string());
  return false;
}

Status Scheduler::requeue(const storage::RunRecord& record, const std::set<std::string>& names,
                          const std::string& reason, const std::string& message,
                          const std::string& bypass_cache_step) {
  RF_ASSIGN_OR_RETURN(bool active, is_active(record));
  if (active) {
    return Status::error("run_active", "run " + std::to_string(record.id) + " is still " +
                                           record.status + "; wait until it has finished");
  }
  RF_ASSIGN_OR_RETURN(auto steps, store_->steps_of_run(record.id));
  std::vector<int64_t> step_ids;
  for (const auto& step : steps) {
    if (names.count(step.name) != 0) step_ids.push_back(step.id);
  }
  // The steps and the run change together or not at all.
  RF_RETURN_IF_ERROR(store_->requeue_steps(record.id, step_ids, reason, message));
  {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    active_runs_.insert(record.id);
  }
  Command load;
  load.run_id = record.id;
  load.load = true;
  load.fresh_steps = names;
  load.bypass_cache_step = bypass_cache_step;
  post(std::move(load));
  bus_->publish(
      {{"type", "run"}, {"run_id", record.id}, {"status", to_string(RunStatus::kRunning)}});
  return Status();
}

Status Scheduler::retry(int64_t run_id) {
  std::lock_guard<std::mutex> control(control_mutex_);
  RF_ASSIGN_OR_RETURN(storage::RunRecord record, store_->get_run(run_id));
  RF_ASSIGN_OR_RETURN(auto steps, store_->steps_of_run(run_id));
  std::set<std::string> names;
  for (const auto& step : steps) {
    const auto status = step_status_from(step.status);
    if (status == StepStatus::kFailed || status == StepStatus::kCancelled) names.insert(step.name);
  }
  return requeue(record, names, "retry_requested", "queued again by a retry of the run", "");
}

Status Scheduler::rerun_step(int64_t run_id, const std::string& step_name) {
  std::lock_guard<std::mutex> control(control_mutex_);
  RF_ASSIGN_OR_RETURN(storage::RunRecord record, store_->get_run(run_id));
  RF_ASSIGN_OR_RETURN(storage::StepRecord target, store_->find_step(run_id, step_name));
  RF_ASSIGN_OR_RETURN(auto steps, store_->steps_of_run(run_id));
  // The step and everything downstream of it, by following input edges to a fixed
  // point (steps are few; clarity beats a graph library here).
  std::set<std::string> names = {target.name};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& step : steps) {
      if (names.count(step.name) != 0) continue;
      for (const auto& input : step.inputs) {
        if (names.count(input.source_step) != 0) {
          grew = names.insert(step.name).second || grew;
          break;
        }
      }
    }
  }
  return requeue(record, names, "rerun_requested",
                 "queued again by a re-run of step " + step_name, target.name);
}

Executor* Scheduler::executor_for(const StepSpec& spec, std::string* name) const {
  *name = spec.executor.empty() ? options_.default_executor : spec.executor;
  auto found = executors_.find(*name);
  return found == executors_.end() ? nullptr : found->second.get();
}

bool Scheduler::on_daemon_pool(const StepSpec& spec) const {
  std::string name;
  const Executor* executor = executor_for(spec, &name);
  return executor == nullptr || executor->limits().resources == ResourceOwner::kDaemon;
}

std::optional<Allocation> Scheduler::try_allocate(const StepSpec& spec) {
  if (!on_daemon_pool(spec)) return Allocation{};
  return pool_.try_acquire(spec.resources);
}

bool Scheduler::recover_attempt(int64_t attempt_id) {
  auto attempt = store_->get_attempt(attempt_id);
  if (!attempt.ok()) return false;
  auto step = store_->get_step(attempt->step_id);
  if (!step.ok()) return false;
  auto run = store_->get_run(step->run_id);
  if (!run.ok()) return false;
  const std::string dir = (fs::path(options_.data_dir) / "runs" / std::to_string(step->run_id) /
                           step->name / ("attempt-" + std::to_string(attempt->number)))
                              .string();
  const std::string executor_name = recorded_attempt_executor(dir);
  auto executor = executors_.find(executor_name);
  if (executor == executors_.end()) {
    spdlog::warn("recovery: {} attempt {} ran on executor \"{}\", which this daemon does not "
                 "have; it runs again", step->name, attempt->number, executor_name);
    return false;
  }
  StepSpec spec;
  spec.name = step->name;
  read_executor_choice(nlohmann::json::parse(run->workflow_json, nullptr, false),
                       options_.default_executor, &spec);
  const auto resources = nlohmann::json::parse(step->resources_json, nullptr, false);
  const auto stored_ranks = resources.is_object() ? resources.find("ranks") : resources.end();
  AttemptLaunch launch;
  launch.worker_path = options_.worker_path;
  launch.attempt_dir = dir;
  launch.attempt_number = attempt->number;
  launch.ranks = stored_ranks != resources.end() && stored_ranks->is_number_integer()
                     ? std::clamp(stored_ranks->get<int>(), 1, std::max(1, options_.max_ranks))
                     : 1;
  launch.timeout_s = step->timeout_s;
  launch.grace_s = options_.grace_s;
  launch.run_id = step->run_id;
  launch.step_name = step->name;
  launch.attempt_id = attempt_id;
  launch.executor_options = spec.executor_options;
  auto taken_in = std::make_shared<TakenIn>();
  auto recorder = std::make_unique<AttemptRecorder>(
      store_, bus_, step->run_id, step->name, step->id, attempt_id,
      on_attempt_end(step->run_id, step->name, dir, taken_in), options_.max_log_bytes_per_attempt);
  RecoveredAttempt recovered = executor->second->recover(launch, recorder.get());

  if (recovered.state == RecoveredAttempt::State::kAdopted && recovered.handle) {
    spdlog::info("recovery: {} attempt {} still runs ({}: {}); following it", step->name,
                 attempt->number, executor_name, recovered.handle->where());
    auto adopted = std::make_unique<Adopted>();
    adopted->attempt_id = attempt_id;
    adopted->number = attempt->number;
    adopted->dir = dir;
    adopted->executor = executor_name;
    adopted->taken_in = std::move(taken_in);
    adopted->recorder = std::move(recorder);
    adopted->handle = std::move(recovered.handle);
    adopted_[step->id] = std::move(adopted);
    return true;
  }
  if (recovered.state != RecoveredAttempt::State::kFinished) return false;  // it runs again
  const AttemptOutcome& result = recovered.outcome;
  if (attempt_status_from(result.status) != AttemptStatus::kSucceeded) {
    spdlog::info("recovery: {} attempt {} ended while the daemon was down ({}: {}); running it "
                 "again", step->name, attempt->number, result.reason, result.message);
    return false;
  }
  // It finished while the daemon was down: take its outputs in, and end the
  // attempt and the step with them in one transaction.
  auto stored = ingest_outputs(*artifacts_, dir, result.outputs, result.output_digests);
  Status recorded = stored.status();
  if (stored.ok()) {
    storage::AttemptEnd end{to_string(AttemptStatus::kSucceeded), "recovered",
                            "finished while the daemon was down; taken in on restart", 0,
                            std::nullopt};
    recorded = store_
                   ->finish_attempt_with_outputs(attempt_id, end, step->id,
                                                 {to_string(StepStatus::kSucceeded), "", ""},
                                                 artifact_records(*stored))
                   .status();
  }
  if (!recorded.ok()) {
    spdlog::warn("recovery: {} attempt {} finished but its outputs cannot be taken in ({}); "
                 "running it again", step->name, attempt->number, recorded.to_string());
    return false;
  }
  spdlog::info("recovery: {} attempt {} had finished; its outputs were taken in", step->name,
               attempt->number);
  return false;
}

void Scheduler::attach_adopted(RunState& run, StepState& step, std::unique_ptr<Adopted> adopted) {
  auto active = std::make_unique<ActiveAttempt>();
  active->attempt_id = adopted->attempt_id;
  active->number = adopted->number;
  active->dir = adopted->dir;
  active->executor = adopted->executor;
  active->taken_in = std::move(adopted->taken_in);
  active->recorder = std::move(adopted->recorder);
  active->running = std::move(adopted->handle);
  active->started_at = clock_->now();
  // Charged like a new attempt of the step, so what starts beside it still fits.
  if (auto allocation = try_allocate(step.spec)) {
    active->allocation = *allocation;
  } else {
    spdlog::warn("recovery: {} attempt {} runs beyond this daemon's free resources ({})",
                 step.spec.name, active->number, pool_.shortfall(step.spec.resources));
  }
  scheduler_metrics::attempt_started(step.spec.plugin,
                                     static_cast<size_t>(std::max(1, step.spec.resources.ranks)),
                                     active->allocation.gpus.size(), active->allocation.cpus);
  step.active = std::move(active);
  ++run.active_steps;
}

}  // namespace radflow
