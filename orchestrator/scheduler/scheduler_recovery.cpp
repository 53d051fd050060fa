// The scheduler's memory: the step cache, retrying a finished run, and taking over
// after a crash.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "orchestrator/executor/attempt_recovery.h"
#include "orchestrator/scheduler/output_ingest.h"
#include "orchestrator/scheduler/scheduler.h"
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

void Scheduler::recover_lost_attempt(int64_t attempt_id) {
  auto attempt = store_->get_attempt(attempt_id);
  if (!attempt.ok()) return;
  auto step = store_->get_step(attempt->step_id);
  if (!step.ok()) return;
  const std::string dir = (fs::path(options_.data_dir) / "runs" / std::to_string(step->run_id) /
                           step->name / ("attempt-" + std::to_string(attempt->number)))
                              .string();
  if (int stopped = stop_orphaned_workers(dir); stopped > 0) {
    spdlog::warn("recovery: stopped {} orphaned worker(s) of {} attempt {}", stopped, step->name,
                 attempt->number);
  }
  const auto resources = nlohmann::json::parse(step->resources_json, nullptr, false);
  const auto stored_ranks = resources.is_object() ? resources.find("ranks") : resources.end();
  const int ranks = stored_ranks != resources.end() && stored_ranks->is_number_integer()
                        ? std::clamp(stored_ranks->get<int>(), 1, std::max(1, options_.max_ranks))
                        : 1;
  auto result = read_attempt_result(dir, ranks);
  if (!result || attempt_status_from(result->status) != AttemptStatus::kSucceeded) {
    return;  // it runs again
  }
  // The workers finished while the daemon was down: take their outputs in, and
  // end the attempt and the step with them in one transaction.
  auto stored = ingest_outputs(*artifacts_, dir, result->outputs);
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
    return;
  }
  spdlog::info("recovery: {} attempt {} had finished; its outputs were taken in", step->name,
               attempt->number);
}

}  // namespace radflow
