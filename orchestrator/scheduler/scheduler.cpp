#include "orchestrator/scheduler/scheduler.h"
#include "common/thread_name.h"
#include "orchestrator/executor/local_executor.h"
#include "orchestrator/scheduler/scheduler_metrics.h"
#include "orchestrator/scheduler/scheduler_state.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <tuple>

namespace radflow {
namespace fs = std::filesystem;

namespace {

// How often the waiting texts are copied out for the API at most: building them is
// linear in the queued steps, so not at every pass of a 1,000-step run.
constexpr auto kSnapshotInterval = std::chrono::milliseconds(100);

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json resources_to_json(const Resources& r) {
  return {{"gpus", r.gpus}, {"cpus", r.cpus}, {"memory_gb", r.memory_gb}, {"ranks", r.ranks}};
}

// `fallback` unless `object` holds `key` as a number (stored rows are radflow's
// own, but a damaged database must not throw in the scheduler).
template <typename T>
T number_or(const nlohmann::json& object, const char* key, T fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<T>() : fallback;
}

Resources resources_from_json(const std::string& text) {
  Resources r;
  auto json = nlohmann::json::parse(text, nullptr, false);
  r.gpus = number_or(json, "gpus", r.gpus);
  r.cpus = number_or(json, "cpus", r.cpus);
  r.memory_gb = number_or(json, "memory_gb", r.memory_gb);
  r.ranks = number_or(json, "ranks", r.ranks);
  return r;
}

std::map<std::string, std::shared_ptr<Executor>> executors_or_local(
    std::map<std::string, std::shared_ptr<Executor>> executors) {
  if (executors.empty()) executors[LocalExecutor::kName] = std::make_shared<LocalExecutor>();
  return executors;
}

}  // namespace

void read_executor_choice(const nlohmann::json& workflow, const std::string& default_executor,
                          StepSpec* spec) {
  if (!workflow.is_object()) return;
  auto steps = workflow.find("steps");
  if (steps == workflow.end() || !steps->is_object()) return;
  auto raw = steps->find(spec->name);
  if (raw == steps->end() || !raw->is_object()) return;
  auto executor = raw->find("executor");
  if (executor != raw->end() && executor->is_string()) spec->executor = executor->get<std::string>();
  auto options = raw->find(spec->executor.empty() ? default_executor : spec->executor);
  if (options != raw->end() && options->is_object()) spec->executor_options = *options;
}

Scheduler::Scheduler(SchedulerOptions options, storage::Store* store,
                     storage::ArtifactStore* artifacts, PluginRegistry* registry, EventBus* bus)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : SteadyClock::instance()),
      executors_(executors_or_local(options_.executors)),
      store_(store),
      artifacts_(artifacts),
      registry_(registry),
      bus_(bus),
      pool_(options_.cpus, options_.gpus, options_.memory_gb),
      capacity_([this] {
        Capacity capacity = pool_.capacity();
        capacity.max_ranks = options_.max_ranks;
        capacity.executors.clear();
        for (const auto& [name, executor] : executors_) capacity.executors[name] = executor->limits();
        capacity.default_executor = options_.default_executor;
        return capacity;
      }()) {}

Scheduler::~Scheduler() { shutdown(); }

Capacity Scheduler::capacity() const { return capacity_; }

Result<int64_t> Scheduler::submit(const Workflow& workflow, const std::string& workflow_text,
                                  const std::string& submitted_by,
                                  const std::string& manifest_json) {
  storage::NewRun run;
  run.submitted_by = submitted_by;
  run.manifest_json = manifest_json;
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
  {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    active_runs_.insert(run_id);
  }
  Command load;
  load.run_id = run_id;
  load.load = true;
  post(std::move(load));
  bus_->publish({{"type", "run"}, {"run_id", run_id}, {"status", to_string(RunStatus::kQueued)}});
  return run_id;
}

void Scheduler::post(Command command) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    commands_.push_back(std::move(command));
  }
  wake_.notify_all();
}

void Scheduler::workers_exited(int64_t run_id, const std::string& step) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    exited_.emplace_back(run_id, step);
  }
  wake_.notify_all();
}

void Scheduler::attempt_ended(int64_t run_id, const std::string& step) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ended_.emplace_back(run_id, step);
  }
  wake_.notify_all();
}

void Scheduler::wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    wake_requested_ = true;
  }
  wake_.notify_all();
}

Result<bool> Scheduler::is_active(const storage::RunRecord& record) const {
  {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    if (active_runs_.count(record.id) != 0) return true;
  }
  // A run submitted or requeued since the last pass is active in the database.
  const auto status = run_status_from(record.status);
  return !status || !is_terminal(*status);
}

void Scheduler::apply_command(const Command& command) {
  if (!command.fail_message.empty()) {
    auto run = runs_.find(command.run_id);
    if (run != runs_.end()) fail_run(*run->second, "internal_error", command.fail_message);
    return;
  }
  if (command.load) {
    if (runs_.count(command.run_id) != 0) {
      spdlog::warn("run {} is already active; not loaded again", command.run_id);
    } else {
      auto record = store_->get_run(command.run_id);
      Status loaded = record.status();
      if (record.ok()) {
        try {
          loaded = load_run(*record);
        } catch (const std::exception& e) {
          loaded = Status::error("internal_error", e.what());
        }
      }
      if (!loaded.ok()) {
        if (record.ok()) {
          fail_unloadable_run(*record, loaded.message());
        } else {
          spdlog::error("run {} cannot be loaded: {}", command.run_id, loaded.to_string());
        }
        return;
      }
    }
    auto& steps = runs_.at(command.run_id)->steps;
    for (const auto& name : command.fresh_steps) {
      // Earlier failures must not eat into the new attempts' retry budget.
      if (auto it = steps.find(name); it != steps.end()) it->second.failures = 0;
    }
    if (auto it = steps.find(command.bypass_cache_step); it != steps.end()) {
      it->second.bypass_cache = true;
    }
  }
  if (command.cancel) {
    if (auto it = runs_.find(command.run_id); it != runs_.end()) {
      it->second->cancel_requested = true;
    }
  }
}

Status Scheduler::cancel(int64_t run_id) {
  RF_ASSIGN_OR_RETURN(storage::RunRecord record, store_->get_run(run_id));
  const auto status = run_status_from(record.status);
  if (status && is_terminal(*status)) return Status();  // already finished
  // Persisted first: a daemon that dies before the cancel is carried out still
  // cancels the run when it starts again.
  RF_RETURN_IF_ERROR(store_->record_cancel_request(run_id));
  Command cancel;
  cancel.run_id = run_id;
  cancel.cancel = true;
  post(std::move(cancel));
  return Status();
}

std::map<std::string, std::string> Scheduler::waiting_reasons(int64_t run_id) const {
  std::lock_guard<std::mutex> lock(snapshot_mutex_);
  auto it = waiting_.find(run_id);
  return it == waiting_.end() ? std::map<std::string, std::string>() : it->second;
}

// Builds in-memory state for a run from its rows. On the scheduling thread, or in
// start() before it runs.
Status Scheduler::load_run(const storage::RunRecord& record) {
  auto run = std::make_unique<RunState>();
  run->id = record.id;
  auto run_status = run_status_from(record.status);
  if (!run_status) {
    return Status::error("storage_error", "run " + std::to_string(record.id) +
                                              " has an unknown status \"" + record.status + "\"");
  }
  run->status = *run_status;
  run->cancel_requested = record.cancel_requested;
  const auto workflow = nlohmann::json::parse(record.workflow_json, nullptr, false);
  run->max_parallel = number_or(workflow, "max_parallel", 0);
  RF_ASSIGN_OR_RETURN(auto steps, store_->steps_of_run(record.id));
  RF_ASSIGN_OR_RETURN(auto attempts_by_step, store_->attempts_of_run(record.id));
  for (const auto& row : steps) {
    StepState step;
    step.id = row.id;
    step.position = row.position;
    auto step_status = step_status_from(row.status);
    if (!step_status) {
      return Status::error("storage_error", "step " + row.name + " has an unknown status \"" +
                                                row.status + "\"");
    }
    step.status = *step_status;
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
    read_executor_choice(workflow, options_.default_executor, &step.spec);
    const auto& attempts = attempts_by_step[row.id];
    step.attempts_started = static_cast<int>(attempts.size());
    for (const auto& attempt : attempts) {
      // Lost attempts do not count against the retry budget.
      if (attempt_status_from(attempt.status) == AttemptStatus::kFailed) ++step.failures;
    }
    if (is_done_ok(step.status)) {
      RF_ASSIGN_OR_RETURN(auto outputs, store_->outputs_of_step(row.id));
      for (const auto& artifact : outputs) {
        step.outputs[artifact.output_name] = {artifact.id, artifact.digest,
                                              artifacts_->path_of(artifact.digest)};
      }
    } else if (step.status == StepStatus::kRunning && adopted_.count(row.id) != 0) {
      // Its executor still follows the attempt: it stays running (attach_adopted below).
    } else if (step.status == StepStatus::kRunning) {
      // Its attempt was lost with the previous daemon: run it again.
      RF_RETURN_IF_ERROR(store_->set_step_status(
          row.id, to_string(StepStatus::kQueued), "recovered",
          "the daemon restarted while this step ran; rerunning"));
      step.status = StepStatus::kQueued;
    }
    run->steps.emplace(row.name, std::move(step));
  }
  for (auto& [name, step] : run->steps) {
    if (auto adopted = adopted_.find(step.id); adopted != adopted_.end()) {
      attach_adopted(*run, step, std::move(adopted->second));
      adopted_.erase(adopted);
    }
    for (const auto& input : step.spec.inputs) {
      auto up = run->steps.find(input.step);
      if (up != run->steps.end()) up->second.downstream.push_back(&step);
    }
    if (!is_terminal(step.status)) ++run->unfinished_steps;
    if (step.status == StepStatus::kQueued) examine_later(*run, step);
  }
  runs_[record.id] = std::move(run);
  return Status();
}

Status Scheduler::start() {
  RF_ASSIGN_OR_RETURN(auto running, store_->running_attempts());
  if (!running.empty()) {
    spdlog::warn("recovery: {} attempt(s) were running when the daemon stopped", running.size());
  }
  std::set<int64_t> adopted;
  for (int64_t attempt_id : running) {
    try {
      if (recover_attempt(attempt_id)) adopted.insert(attempt_id);
    } catch (const std::exception& e) {
      spdlog::error("recovery: attempt {} could not be examined ({}); it runs again", attempt_id,
                    e.what());
    }
  }
  // What no executor finished or adopted is lost: its step runs again (load_run).
  RF_RETURN_IF_ERROR(store_->mark_lost_attempts(adopted).status());
  RF_ASSIGN_OR_RETURN(auto unfinished, store_->unfinished_runs());
  {
    for (const auto& record : unfinished) {
      Status loaded;
      try {
        loaded = load_run(record);
      } catch (const std::exception& e) {
        loaded = Status::error("internal_error", e.what());
      }
      if (!loaded.ok()) fail_unloadable_run(record, loaded.message());
    }
  }
  if (!unfinished.empty()) spdlog::info("recovery: resuming {} unfinished run(s)", unfinished.size());
  for (auto& [step_id, orphan] : adopted_) {
    // Its run could not be loaded (it was failed above): stop what still runs.
    spdlog::warn("recovery: stopping adopted attempt {} of a run that cannot resume",
                 orphan->attempt_id);
    orphan->handle->cancel("its run could not be resumed after a restart");
    orphan->handle->wait();
    (void)store_->finish_attempt(orphan->attempt_id, to_string(AttemptStatus::kLost), "lost",
                                 "its run could not be resumed after a restart", std::nullopt,
                                 std::nullopt);
  }
  adopted_.clear();
  {
    // The resumed runs' steps are listed for examination: the first pass runs at once.
    std::lock_guard<std::mutex> lock(mutex_);
    wake_requested_ = true;
  }
  thread_ = std::thread([this] {
    name_this_thread("rf-scheduler");
    loop();
  });
  return Status();
}

void Scheduler::fail_unloadable_run(const storage::RunRecord& record, const std::string& message) {
  runs_.erase(record.id);
  const std::string why = "radflow could not resume this run after a restart: " + message;
  spdlog::error("recovery: run {} failed: {}", record.id, why);
  auto steps = store_->steps_of_run(record.id);
  if (steps.ok()) {
    for (const auto& step : *steps) {
      const auto status = step_status_from(step.status);
      if (!status || !is_terminal(*status)) {
        (void)store_->set_step_status(step.id, to_string(StepStatus::kCancelled),
                                      "recovery_failed", why);
      }
    }
  }
  (void)store_->set_run_status(record.id, to_string(RunStatus::kFailed), why);
  bus_->publish({{"type", "run"},
                 {"run_id", record.id},
                 {"status", to_string(RunStatus::kFailed)},
                 {"message", why}});
}

void Scheduler::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  // The scheduler thread stops the attempts itself before it ends (see
  // stop_attempts): workers get SIGKILL when the thread that started them
  // exits, so joining it first would skip their grace period.
  if (thread_.joinable()) thread_.join();
  store_->flush();
}

void Scheduler::stop_attempts() {
  std::vector<StepState*> active;
  for (auto& [run_id, run] : runs_) {
    for (auto& [name, step] : run->steps) {
      if (!step.active) continue;
      // An attempt that outlives the daemon (a Slurm job) runs on: its rows stay
      // running, and the next start() adopts it (recover_attempt).
      if (step.active->running->detach()) {
        spdlog::info("step {} of run {}: attempt {} left running ({}) for the next start",
                     name, run_id, step.active->number, step.active->running->where());
        release_slots(*step.active);
        step.active.reset();
        continue;
      }
      step.active->running->cancel("the daemon is shutting down");
      active.push_back(&step);
    }
  }
  if (!active.empty()) {
    spdlog::info("stopping {} running attempt(s) (SIGTERM, then SIGKILL after {} s)",
                 active.size(), options_.grace_s);
  }
  for (StepState* step : active) {
    const AttemptOutcome outcome = step->active->running->wait();
    const std::optional<int> signal =
        outcome.signal ? std::optional<int>(outcome.signal) : std::nullopt;
    Status ended = store_->finish_attempt(step->active->attempt_id,
                                          to_string(AttemptStatus::kLost), "daemon_shutdown",
                                          "the daemon shut down while the attempt ran",
                                          outcome.exit_code, signal);
    Status queued = store_->set_step_status(step->id, to_string(StepStatus::kQueued),
                                            "daemon_shutdown",
                                            "will run again when the daemon restarts");
    if (!ended.ok() || !queued.ok()) {
      spdlog::error("cannot record the stop of step {}: {} {}", step->spec.name,
                    ended.to_string(), queued.to_string());
    }
    release_slots(*step->active);
    step->active.reset();
  }
}

void Scheduler::loop() {
  while (true) {
    std::deque<Command> commands;
    std::vector<std::pair<int64_t, std::string>> exited;
    std::vector<std::pair<int64_t, std::string>> ended;
    std::vector<std::pair<int64_t, std::string>> recorded;
    {
      // No tick: the thread sleeps until a command, an ended attempt or the
      // earliest timer (a backoff, a write retry, the next waiting-text copy).
      std::unique_lock<std::mutex> lock(mutex_);
      auto has_work = [this] {
        return stopping_ || wake_requested_ || !commands_.empty() || !exited_.empty() ||
               !ended_.empty() || !recorded_.empty();
      };
      std::optional<Clock::time_point> next;
      if (!timers_.empty()) next = timers_.begin()->first;
      if (snapshot_stale_ && (!next || snapshot_due_ < *next)) next = snapshot_due_;
      if (writes_in_flight_ > 0) {
        // An answer is on its way (milliseconds); timers wait that long at most.
        wake_.wait_for(lock, std::chrono::milliseconds(20), has_work);
      } else {
        clock_->wait_until(lock, wake_, next, has_work);
      }
      if (stopping_) break;
      wake_requested_ = false;
      commands.swap(commands_);
      exited.swap(exited_);
      ended.swap(ended_);
      recorded.swap(recorded_);
    }
    try {
      for (const auto& command : commands) apply_command(command);
      for (const auto& [run_id, step] : exited) take_in_exited(run_id, step);
      for (const auto& [run_id, step] : recorded) take_in_recorded(run_id, step);
      for (const auto& [run_id, step] : ended) take_in_ended(run_id, step);
      schedule_pass();
    } catch (const std::exception& e) {
      // guard_run catches what one run throws; this is the last line.
      spdlog::error("scheduler: internal error outside any run: {}", e.what());
    }
  }
  stop_attempts();
}

template <typename Work>
void Scheduler::guard_run(RunState& run, Work&& work) {
  std::string what;
  try {
    work();
    return;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  fail_run(run, "internal_error", "radflow failed while running this run: " + what);
}

void Scheduler::fail_run(RunState& run, const std::string& reason,
                                const std::string& message) {
  spdlog::error("run {}: {}", run.id, message);
  if (run.internal_error.empty()) run.internal_error = message;
  for (auto& [name, step] : run.steps) {
    if (step.active) {
      step.active->running->cancel(message);
    } else if (step.status == StepStatus::kQueued) {
      set_step_status(run, step, StepStatus::kCancelled, reason, message);
    }
  }
  run.cancel_requested = true;  // attempts still stopping end as cancelled
}

Result<std::vector<std::pair<std::string, StepOutput>>> Scheduler::bound_inputs(
    const RunState& run, const StepState& step) const {
  std::vector<std::pair<std::string, StepOutput>> bound;
  for (const auto& input : step.spec.inputs) {
    auto upstream = run.steps.find(input.step);
    if (upstream == run.steps.end()) {
      return Status::error("input_missing", "input " + input.input + " reads from step " +
                                                input.step + ", which this run does not have");
    }
    auto output = upstream->second.outputs.find(input.output);
    if (output == upstream->second.outputs.end()) {
      return Status::error("input_missing",
                           "input " + input.input + " reads output " + input.output +
                               " of step " + input.step +
                               ", which that step did not produce (an optional output)");
    }
    bound.emplace_back(input.input, output->second);
  }
  return bound;
}

void Scheduler::examine_later(RunState& run, StepState& step) {
  if (step.to_examine) return;
  step.to_examine = true;
  run.to_examine.push_back(&step);
}

void Scheduler::set_ready(RunState& run, StepState& step, bool ready) {
  if (step.ready == ready) return;
  step.ready = ready;
  const ReadyKey key{step.spec.priority, run.id, step.position, &run, &step};
  std::set<ReadyKey>& queue = on_daemon_pool(step.spec) ? ready_ : ready_elsewhere_;
  if (ready) {
    queue.insert(key);
  } else {
    queue.erase(key);
  }
}

void Scheduler::add_timer(Clock::time_point at, int64_t run_id, const std::string& step_name) {
  timers_.emplace(at, std::make_pair(run_id, step_name));
}

std::pair<Scheduler::RunState*, Scheduler::StepState*> Scheduler::find_active_step(
    int64_t run_id, const std::string& step_name) {
  auto run = runs_.find(run_id);
  if (run == runs_.end()) return {nullptr, nullptr};
  auto step = run->second->steps.find(step_name);
  if (step == run->second->steps.end()) return {nullptr, nullptr};
  return {run->second.get(), &step->second};
}

void Scheduler::take_in_exited(int64_t run_id, const std::string& step_name) {
  StepState* step = find_active_step(run_id, step_name).second;
  if (step != nullptr && step->active) release_slots(*step->active);
}

void Scheduler::release_slots(ActiveAttempt& active) {
  if (active.slots_released) return;
  active.slots_released = true;
  pool_.release(active.allocation);
}

void Scheduler::take_in_ended(int64_t run_id, const std::string& step_name) {
  RunState* run = nullptr;
  StepState* step = nullptr;
  std::tie(run, step) = find_active_step(run_id, step_name);
  if (step == nullptr || !step->active || !step->active->running->done()) return;
  guard_run(*run, [&] { finish_attempt(*run, *step); });
}

void Scheduler::take_in_recorded(int64_t run_id, const std::string& step_name) {
  RunState* run = nullptr;
  StepState* step = nullptr;
  std::tie(run, step) = find_active_step(run_id, step_name);
  if (step == nullptr || !step->pending_finish || !step->pending_finish->in_flight) return;
  guard_run(*run, [&] { finish_recorded(*run, *step); });
}

void Scheduler::write_submitted() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++writes_in_flight_;
}

void Scheduler::write_answered(const std::function<void()>& then_locked) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --writes_in_flight_;
    then_locked();
  }
  wake_.notify_all();
}

void Scheduler::on_timer(int64_t run_id, const std::string& step_name) {
  // "" is the run's own end, which every pass tries again (finish_run_if_done).
  if (step_name.empty()) return;
  RunState* run = nullptr;
  StepState* step = nullptr;
  std::tie(run, step) = find_active_step(run_id, step_name);
  if (step == nullptr) return;
  guard_run(*run, [&] {
    if (step->pending_finish) {
      commit_finish(*run, *step);
    } else if (step->status == StepStatus::kQueued) {
      examine_later(*run, *step);
    }
  });
}

void Scheduler::scan_run(RunState& run, Clock::time_point now) {
  if (run.cancel_requested && !run.cancel_applied) {
    run.cancel_applied = true;
    for (auto& [name, step] : run.steps) {
      if (step.status == StepStatus::kQueued) {
        set_step_status(run, step, StepStatus::kCancelled, "cancelled",
                               "the run was cancelled");
      } else if (step.active) {
        step.active->running->cancel("the run was cancelled");
      }
    }
  }
  // Examining a step may list more (a cancelled step's downstream): by index.
  for (size_t i = 0; i < run.to_examine.size(); ++i) {
    StepState& step = *run.to_examine[i];
    step.to_examine = false;
    examine(run, step, now);
  }
  run.to_examine.clear();
}

void Scheduler::examine(RunState& run, StepState& step, Clock::time_point now) {
  if (step.status != StepStatus::kQueued) return;
  if (run.cancel_requested) {
    set_step_status(run, step, StepStatus::kCancelled, "cancelled", "the run was cancelled");
    return;
  }
  std::string blocked_by, waiting_on;
  for (const auto& input : step.spec.inputs) {
    auto up = run.steps.find(input.step);
    if (up == run.steps.end()) continue;  // bound_inputs reports it
    const StepStatus s = up->second.status;
    if (s == StepStatus::kFailed || s == StepStatus::kCancelled) {
      blocked_by = input.step;
    } else if (!is_done_ok(s) && waiting_on.empty()) {
      waiting_on = "waiting on input " + input.input + " from step " + input.step;
    }
  }
  if (!blocked_by.empty()) {
    set_step_status(run, step, StepStatus::kCancelled, "upstream_failed",
                           "not run: upstream step " + blocked_by + " did not succeed");
    return;
  }
  if (!waiting_on.empty()) {
    step.waiting = waiting_on;  // examined again when that step ends
    return;
  }
  if (auto inputs = bound_inputs(run, step); !inputs.ok()) {
    ++step.failures;
    set_step_status(run, step, StepStatus::kFailed, "input_missing",
                           inputs.status().message());
    return;
  }
  if (now < step.not_before) {
    auto wait_s = std::chrono::duration_cast<std::chrono::seconds>(step.not_before - now);
    step.waiting = "retrying in " + std::to_string(wait_s.count() + 1) + " s";
    add_timer(step.not_before, run.id, step.spec.name);
    return;
  }
  if (try_cache(run, step)) return;
  step.waiting.clear();
  set_ready(run, step, true);
}

void Scheduler::start_ready_steps() {
  start_ready_from(ready_elsewhere_, false);
  start_ready_from(ready_, true);
}

void Scheduler::start_ready_from(std::set<ReadyKey>& queue, bool on_pool) {
  auto it = queue.begin();
  while (it != queue.end() && !stopping_) {
    // Every attempt on the pool is charged at least kMinCpusPerRank slots: with
    // less free, none of the pool's steps can start (publish_snapshot says why
    // they wait).
    if (on_pool && pool_.free_cpus() < kMinCpusPerRank - 1e-9) break;
    const ReadyKey key = *it;
    RunState& run = *key.run;
    StepState& step = *key.step;
    if (step.status != StepStatus::kQueued || run.cancel_requested) {
      set_ready(run, step, false);  // failed by a guard meanwhile
      it = queue.upper_bound(key);
      continue;
    }
    if (run.max_parallel > 0 && run.running_steps() >= run.max_parallel) {
      step.waiting = "run limit reached: max_parallel = " + std::to_string(run.max_parallel) +
                     " steps running";
      ++it;
      continue;
    }
    auto allocation = try_allocate(step.spec);
    if (!allocation) {
      step.waiting = pool_.shortfall(step.spec.resources);
      ++it;
      continue;
    }
    step.waiting.clear();
    set_ready(run, step, false);
    guard_run(run, [&] {
      try {
        start_attempt(run, step, *allocation);
      } catch (...) {
        if (!step.active) pool_.release(*allocation);
        throw;
      }
    });
    // A guard may have cancelled other steps of the run (erasing them from the queue):
    // go on from this key's place, not from an iterator.
    it = queue.upper_bound(key);
  }
}

void Scheduler::schedule_pass() {
  const auto now = clock_->now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const auto [run_id, step_name] = timers_.begin()->second;
    timers_.erase(timers_.begin());
    on_timer(run_id, step_name);
  }
  for (auto& [run_id, run_ptr] : runs_) {
    RunState& run = *run_ptr;
    if (run.to_examine.empty() && (run.cancel_applied || !run.cancel_requested)) continue;
    guard_run(run, [&] { scan_run(run, now); });
  }
  start_ready_steps();
  bool runs_ended = false;
  for (auto it = runs_.begin(); it != runs_.end();) {
    RunState& run = *it->second;
    if (run.unfinished_steps == 0 && run.active_steps == 0) {
      guard_run(run, [&] { finish_run_if_done(run); });
      if (run.end_unrecorded && !is_terminal(run.status)) {
        add_timer(now + std::chrono::seconds(1), run.id, "");
      }
    }
    if (is_terminal(run.status)) {
      it = runs_.erase(it);
      runs_ended = true;
      continue;
    }
    ++it;
  }
  snapshot_stale_ = true;
  if (runs_ended || now >= snapshot_due_) publish_snapshot(now);
}

void Scheduler::publish_snapshot(Clock::time_point now) {
  snapshot_stale_ = false;
  snapshot_due_ = now + kSnapshotInterval;
  std::map<int64_t, std::map<std::string, std::string>> waiting;
  std::set<int64_t> active;
  for (const auto& [run_id, run_ptr] : runs_) {
    const RunState& run = *run_ptr;
    for (const auto& [name, step] : run.steps) {
      if (step.status != StepStatus::kQueued) continue;
      if (!step.waiting.empty()) {
        waiting[run.id][name] = step.waiting;
      } else if (step.ready) {
        // Ready, but the slots went to steps ahead of it: say what it waits for.
        waiting[run.id][name] =
            run.max_parallel > 0 && run.running_steps() >= run.max_parallel
                ? "run limit reached: max_parallel = " + std::to_string(run.max_parallel) +
                      " steps running"
                : on_daemon_pool(step.spec) ? pool_.shortfall(step.spec.resources) : "";
      }
    }
    active.insert(run.id);
  }
  std::lock_guard<std::mutex> lock(snapshot_mutex_);
  waiting_ = std::move(waiting);
  active_runs_ = std::move(active);
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

void Scheduler::set_step_status(RunState& run, StepState& step, StepStatus status,
                                       const std::string& reason, const std::string& message) {
  // The run turns running before its first step does, so no reader sees a running
  // step in a queued run.
  if (run.status == RunStatus::kQueued &&
      (status == StepStatus::kRunning || status == StepStatus::kCached)) {
    Status stored = store_->set_run_status(run.id, to_string(RunStatus::kRunning), "");
    if (!stored.ok()) spdlog::error("cannot record run status: {}", stored.to_string());
  }
  Status stored = store_->set_step_status(step.id, to_string(status), reason, message);
  if (!stored.ok()) {
    // Memory follows the database: a change it did not take is not made.
    throw std::runtime_error("cannot record step " + step.spec.name + " as " +
                             to_string(status) + ": " + stored.to_string());
  }
  apply_step_status(run, step, status, reason, message);
}

void Scheduler::apply_step_status(RunState& run, StepState& step, StepStatus status,
                                  const std::string& reason, const std::string& message,
                                  std::vector<nlohmann::json>* deferred) {
  auto announce = [&](nlohmann::json event) {
    if (deferred != nullptr) {
      deferred->push_back(std::move(event));
    } else {
      bus_->publish(event);
    }
  };
  if (!is_allowed(step.status, status)) {
    throw std::logic_error(std::string("step ") + step.spec.name + " cannot go from " +
                           to_string(step.status) + " to " + to_string(status));
  }
  if (run.status == RunStatus::kQueued &&
      (status == StepStatus::kRunning || status == StepStatus::kCached)) {
    run.status = RunStatus::kRunning;
    announce({{"type", "run"}, {"run_id", run.id}, {"status", to_string(run.status)}});
  }
  const bool was_terminal = is_terminal(step.status);
  step.status = status;
  scheduler_metrics::step_status(status);
  if (status != StepStatus::kQueued) {
    step.waiting.clear();
    set_ready(run, step, false);
  } else {
    examine_later(run, step);  // a retry: its backoff starts now
  }
  if (!was_terminal && is_terminal(status)) {
    --run.unfinished_steps;
    for (StepState* down : step.downstream) examine_later(run, *down);
  } else if (was_terminal && !is_terminal(status)) {
    ++run.unfinished_steps;
  }
  announce({{"type", "step"},
            {"run_id", run.id},
            {"step", step.spec.name},
            {"status", to_string(status)},
            {"reason", reason},
            {"message", message}});
}

void Scheduler::finish_run_if_done(RunState& run) {
  if (is_terminal(run.status)) return;
  bool any_failed = false, any_cancelled = false;
  for (const auto& [name, step] : run.steps) {
    if (!is_terminal(step.status) || step.active) return;
    any_failed |= step.status == StepStatus::kFailed;
    any_cancelled |= step.status == StepStatus::kCancelled;
  }
  const RunStatus status = !run.internal_error.empty() ? RunStatus::kFailed
                           : run.cancel_requested      ? RunStatus::kCancelled
                           : any_failed                ? RunStatus::kFailed
                           : any_cancelled             ? RunStatus::kCancelled
                                                       : RunStatus::kSucceeded;
  std::string message = run.internal_error;
  if (status == RunStatus::kFailed && message.empty()) {
    for (const auto& [name, step] : run.steps) {
      if (step.status == StepStatus::kFailed) {
        message = "step " + name + " failed";
        break;
      }
    }
  }
  if (!is_allowed(run.status, status)) {
    throw std::logic_error(std::string("run cannot go from ") + to_string(run.status) + " to " +
                           to_string(status));
  }
  Status stored = store_->set_run_status(run.id, to_string(status), message);
  if (!stored.ok()) {
    // Left unfinished in memory: the next pass tries again.
    if (!run.end_unrecorded) {
      spdlog::error("cannot record run {} as {} yet ({}); retrying until the database takes it",
                    run.id, to_string(status), stored.to_string());
    }
    run.end_unrecorded = true;
    return;
  }
  run.status = status;
  spdlog::info("run {} {}", run.id, to_string(status));
  bus_->publish({{"type", "run"}, {"run_id", run.id}, {"status", to_string(status)},
                 {"message", message}});
}

}  // namespace radflow
