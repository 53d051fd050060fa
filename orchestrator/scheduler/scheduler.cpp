#include "orchestrator/scheduler/scheduler.h"
#include "orchestrator/scheduler/scheduler_state.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace radflow {
namespace fs = std::filesystem;

namespace {

bool is_terminal(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled" ||
         status == "cached";
}
bool is_done_ok(const std::string& status) { return status == "succeeded" || status == "cached"; }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json resources_to_json(const Resources& r) {
  return {{"gpus", r.gpus}, {"cpus", r.cpus}, {"memory_gb", r.memory_gb}, {"ranks", r.ranks}};
}

Resources resources_from_json(const std::string& text) {
  Resources r;
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object()) return r;
  r.gpus = json.value("gpus", r.gpus);
  r.cpus = json.value("cpus", r.cpus);
  r.memory_gb = json.value("memory_gb", r.memory_gb);
  r.ranks = json.value("ranks", r.ranks);
  return r;
}

}  // namespace

Scheduler::Scheduler(SchedulerOptions options, storage::Store* store,
                     storage::ArtifactStore* artifacts, PluginRegistry* registry, EventBus* bus)
    : options_(std::move(options)),
      store_(store),
      artifacts_(artifacts),
      registry_(registry),
      bus_(bus),
      pool_(options_.cpus, options_.gpus, options_.memory_gb) {}

Scheduler::~Scheduler() { shutdown(); }

Capacity Scheduler::capacity() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pool_.capacity();
}

Result<int64_t> Scheduler::submit(const Workflow& workflow, const std::string& workflow_text,
                                  const std::string& submitted_by) {
  storage::NewRun run;
  run.submitted_by = submitted_by;
  run.name = workflow.name;
  run.workflow_json = workflow_text;
  run.params_json = workflow.params.dump();
  int position = 0;
  for (const auto& spec : workflow.steps) {
    storage::NewStep step;
    step.name = spec.name;
    step.plugin = spec.plugin;
    step.plugin_version = spec.plugin_version;
    step.plugin_sha256 = spec.plugin_sha256;
    step.params_json = spec.params.dump();
    step.resources_json = resources_to_json(spec.resources).dump();
    step.retries = spec.retries;
    step.timeout_s = spec.timeout_s;
    step.cache = spec.cache;
    step.priority = spec.priority;
    step.position = position++;
    for (const auto& input : spec.inputs) {
      step.inputs.push_back({input.input, input.step, input.output});
    }
    run.steps.push_back(std::move(step));
  }
  RF_ASSIGN_OR_RETURN(int64_t run_id, store_->create_run(run));
  RF_ASSIGN_OR_RETURN(storage::RunRecord record, store_->get_run(run_id));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    RF_RETURN_IF_ERROR(load_run(record));
  }
  bus_->publish({{"type", "run"}, {"run_id", run_id}, {"status", "queued"}});
  wake_.notify_all();
  return run_id;
}

Status Scheduler::cancel(int64_t run_id) {
  RF_ASSIGN_OR_RETURN(storage::RunRecord record, store_->get_run(run_id));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = runs_.find(run_id);
    if (it == runs_.end()) return Status();  // already finished
    it->second->cancel_requested = true;
  }
  wake_.notify_all();
  return Status();
}

std::map<std::string, std::string> Scheduler::waiting_reasons(int64_t run_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<std::string, std::string> reasons;
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return reasons;
  for (const auto& [name, step] : it->second->steps) {
    if (step.status == "queued" && !step.waiting.empty()) reasons[name] = step.waiting;
  }
  return reasons;
}

// Builds in-memory state for a run from its rows. Caller holds mutex_.
Status Scheduler::load_run(const storage::RunRecord& record) {
  auto run = std::make_unique<RunState>();
  run->id = record.id;
  run->status = record.status;
  run->max_parallel = nlohmann::json::parse(record.workflow_json, nullptr, false)
                          .value("max_parallel", 0);
  RF_ASSIGN_OR_RETURN(auto steps, store_->steps_of_run(record.id));
  for (const auto& row : steps) {
    StepState step;
    step.id = row.id;
    step.position = row.position;
    step.status = row.status;
    step.spec.name = row.name;
    step.spec.plugin = row.plugin;
    step.spec.plugin_version = row.plugin_version;
    step.spec.plugin_sha256 = row.plugin_sha256;
    step.spec.params = nlohmann::json::parse(row.params_json, nullptr, false);
    step.spec.resources = resources_from_json(row.resources_json);
    step.spec.retries = row.retries;
    step.spec.timeout_s = row.timeout_s;
    step.spec.cache = row.cache;
    step.spec.priority = row.priority;
    for (const auto& input : row.inputs) {
      step.spec.inputs.push_back({input.input_name, input.source_step, input.source_output});
    }
    RF_ASSIGN_OR_RETURN(auto attempts, store_->attempts_of_step(row.id));
    step.attempts_started = static_cast<int>(attempts.size());
    for (const auto& attempt : attempts) {
      if (attempt.status == "failed") ++step.failures;  // lost ones do not count
    }
    if (is_done_ok(row.status)) {
      RF_ASSIGN_OR_RETURN(auto outputs, store_->outputs_of_step(row.id));
      for (const auto& artifact : outputs) {
        step.outputs[artifact.output_name] = {artifact.id, artifact.digest,
                                              artifacts_->path_of(artifact.digest)};
      }
    } else if (row.status == "running") {
      // Its attempt was lost with the previous daemon: run it again.
      step.status = "queued";
      RF_RETURN_IF_ERROR(store_->set_step_status(
          row.id, "queued", "recovered", "the daemon restarted while this step ran; rerunning"));
    }
    run->steps.emplace(row.name, std::move(step));
  }
  runs_[record.id] = std::move(run);
  return Status();
}

Status Scheduler::start() {
  RF_ASSIGN_OR_RETURN(auto lost, store_->mark_lost_attempts());
  if (!lost.empty()) spdlog::warn("recovery: {} attempt(s) were running when the daemon stopped", lost.size());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int64_t attempt_id : lost) recover_lost_attempt(attempt_id);
  }
  RF_ASSIGN_OR_RETURN(auto unfinished, store_->unfinished_runs());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& record : unfinished) RF_RETURN_IF_ERROR(load_run(record));
  }
  if (!unfinished.empty()) spdlog::info("recovery: resuming {} unfinished run(s)", unfinished.size());
  thread_ = std::thread([this] { loop(); });
  return Status();
}

void Scheduler::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [run_id, run] : runs_) {
    for (auto& [name, step] : run->steps) {
      if (!step.active) continue;
      step.active->running->cancel("the daemon is shutting down");
    }
  }
  for (auto& [run_id, run] : runs_) {
    for (auto& [name, step] : run->steps) {
      if (!step.active) continue;
      AttemptOutcome outcome = step.active->running->wait();
      (void)store_->finish_attempt(step.active->attempt_id, "lost", "daemon_shutdown",
                                   "the daemon shut down while the attempt ran",
                                   outcome.exit_code, outcome.signal ? std::optional<int>(outcome.signal)
                                                                     : std::nullopt);
      (void)store_->set_step_status(step.id, "queued", "daemon_shutdown",
                                    "will run again when the daemon restarts");
      pool_.release(step.active->allocation);
      step.active.reset();
    }
  }
  store_->flush();
}

void Scheduler::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    schedule_locked();
    wake_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

void Scheduler::schedule_locked() {
  const auto now = Clock::now();
  struct Candidate {
    RunState* run;
    StepState* step;
  };
  std::vector<Candidate> ready;
  for (auto& [run_id, run_ptr] : runs_) {
    RunState& run = *run_ptr;
    for (auto& [name, step] : run.steps) {
      if (step.active && step.active->running->done()) finish_attempt_locked(run, step);
    }
    if (run.cancel_requested) {
      for (auto& [name, step] : run.steps) {
        if (step.status == "queued") {
          set_step_status_locked(run, step, "cancelled", "cancelled", "the run was cancelled");
        } else if (step.active) {
          step.active->running->cancel("the run was cancelled");
        }
      }
    }
    for (auto& [name, step] : run.steps) {
      if (step.status != "queued") continue;
      std::string blocked_by, waiting_on;
      for (const auto& input : step.spec.inputs) {
        auto up = run.steps.find(input.step);
        if (up == run.steps.end()) continue;  // validation rules this out
        const std::string& s = up->second.status;
        if (s == "failed" || s == "cancelled") {
          blocked_by = input.step;
        } else if (!is_done_ok(s) && waiting_on.empty()) {
          waiting_on = "waiting on input " + input.input + " from step " + input.step;
        }
      }
      if (!blocked_by.empty()) {
        set_step_status_locked(run, step, "cancelled", "upstream_failed",
                               "not run: upstream step " + blocked_by + " did not succeed");
        continue;
      }
      if (!waiting_on.empty()) {
        step.waiting = waiting_on;
        continue;
      }
      if (now < step.not_before) {
        auto wait_s = std::chrono::duration_cast<std::chrono::seconds>(step.not_before - now);
        step.waiting = "retrying in " + std::to_string(wait_s.count() + 1) + " s";
        continue;
      }
      if (try_cache_locked(run, step)) continue;
      ready.push_back({&run, &step});
    }
  }
  std::stable_sort(ready.begin(), ready.end(), [](const Candidate& a, const Candidate& b) {
    if (a.step->spec.priority != b.step->spec.priority) {
      return a.step->spec.priority > b.step->spec.priority;
    }
    if (a.run->id != b.run->id) return a.run->id < b.run->id;
    return a.step->position < b.step->position;
  });
  for (auto& candidate : ready) {
    if (stopping_) break;
    RunState& run = *candidate.run;
    if (run.max_parallel > 0 && run.running_steps() >= run.max_parallel) {
      candidate.step->waiting = "run limit reached: max_parallel = " +
                                std::to_string(run.max_parallel) + " steps running";
      continue;
    }
    auto allocation = pool_.try_acquire(candidate.step->spec.resources);
    if (!allocation) {
      candidate.step->waiting = pool_.shortfall(candidate.step->spec.resources);
      continue;
    }
    candidate.step->waiting.clear();
    start_attempt_locked(*candidate.run, *candidate.step, *allocation);
  }
  for (auto it = runs_.begin(); it != runs_.end();) {
    finish_run_if_done_locked(*it->second);
    if (is_terminal(it->second->status)) {
      it = runs_.erase(it);
    } else {
      ++it;
    }
  }
}

void Scheduler::log_to_step(int64_t step_id, int64_t attempt_id, const std::string& level,
                            const std::string& message) {
  storage::LogRecord record;
  record.step_id = step_id;
  record.attempt_id = attempt_id;
  record.ts_ms = now_ms();
  record.level = level;
  record.stream = "radflow";
  record.message = message;
  store_->append_logs({record});
}

void Scheduler::set_step_status_locked(RunState& run, StepState& step, const std::string& status,
                                       const std::string& reason, const std::string& message) {
  // The run turns running before its first step does, so no reader sees a running
  // step in a queued run.
  if (run.status == "queued" && (status == "running" || status == "cached")) {
    run.status = "running";
    (void)store_->set_run_status(run.id, "running", "");
    bus_->publish({{"type", "run"}, {"run_id", run.id}, {"status", "running"}});
  }
  step.status = status;
  if (status != "queued") step.waiting.clear();
  Status stored = store_->set_step_status(step.id, status, reason, message);
  if (!stored.ok()) spdlog::error("cannot record step status: {}", stored.to_string());
  bus_->publish({{"type", "step"},
                 {"run_id", run.id},
                 {"step", step.spec.name},
                 {"status", status},
                 {"reason", reason},
                 {"message", message}});
}

void Scheduler::finish_run_if_done_locked(RunState& run) {
  if (is_terminal(run.status)) return;
  bool any_failed = false, any_cancelled = false;
  for (const auto& [name, step] : run.steps) {
    if (!is_terminal(step.status) || step.active) return;
    any_failed |= step.status == "failed";
    any_cancelled |= step.status == "cancelled";
  }
  std::string status = run.cancel_requested ? "cancelled"
                       : any_failed         ? "failed"
                       : any_cancelled      ? "cancelled"
                                            : "succeeded";
  std::string message;
  if (status == "failed") {
    for (const auto& [name, step] : run.steps) {
      if (step.status == "failed") {
        message = "step " + name + " failed";
        break;
      }
    }
  }
  run.status = status;
  Status stored = store_->set_run_status(run.id, status, message);
  if (!stored.ok()) spdlog::error("cannot record run status: {}", stored.to_string());
  spdlog::info("run {} {}", run.id, status);
  bus_->publish({{"type", "run"}, {"run_id", run.id}, {"status", status}, {"message", message}});
}

}  // namespace radflow
