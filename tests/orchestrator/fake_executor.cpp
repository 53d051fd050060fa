#include "tests/orchestrator/fake_executor.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>

namespace radflow::testing {
namespace fs = std::filesystem;

FakeBehavior FakeBehavior::succeed(std::map<std::string, std::string> outputs) {
  FakeBehavior b;
  b.outputs = std::move(outputs);
  return b;
}

FakeBehavior FakeBehavior::fail(std::string reason) {
  FakeBehavior b;
  b.kind = Kind::kFail;
  b.reason = std::move(reason);
  b.message = "scripted " + b.reason;
  return b;
}

FakeBehavior FakeBehavior::hang() {
  FakeBehavior b;
  b.kind = Kind::kHang;
  return b;
}

FakeBehavior FakeBehavior::lost() {
  FakeBehavior b;
  b.kind = Kind::kLost;
  b.message = "the node went away";
  return b;
}

namespace {

// Writes the behavior's output files into the attempt's outputs/ folder and says
// how the attempt ended, in the words real executors use.
AttemptOutcome outcome_of(const AttemptLaunch& launch, const FakeBehavior& behavior) {
  AttemptOutcome outcome;
  switch (behavior.kind) {
    case FakeBehavior::Kind::kSucceed: {
      outcome.status = "succeeded";
      outcome.reason = "ok";
      outcome.exit_code = 0;
      const fs::path dir = fs::path(launch.attempt_dir) / "outputs";
      fs::create_directories(dir);
      for (const auto& [name, content] : behavior.outputs) {
        std::ofstream(dir / name) << content;
        outcome.outputs[name] = (dir / name).string();
      }
      break;
    }
    case FakeBehavior::Kind::kLost:
      outcome.status = "failed";
      outcome.reason = "lost";
      outcome.message = behavior.message;
      break;
    default:
      outcome.status = behavior.reason == "cancelled" ? "cancelled" : "failed";
      outcome.reason = behavior.reason;
      outcome.message = behavior.message;
      outcome.exit_code = 1;
      break;
  }
  return outcome;
}

}  // namespace

struct FakeExecutor::Attempt {
  AttemptLaunch launch;
  AttemptSink* sink = nullptr;
  FakeBehavior behavior;
  Clock::time_point started_at;
  bool ending = false;  // an end is queued (guarded by the executor's mutex_)
  std::atomic<bool> done{false};
  AttemptOutcome outcome;  // written before done
};

class FakeExecutor::Handle : public AttemptHandle {
 public:
  Handle(FakeExecutor* owner, std::shared_ptr<Attempt> attempt)
      : owner_(owner), attempt_(std::move(attempt)) {}
  ~Handle() override {
    if (attempt_->done) return;
    cancel("the handle was destroyed");
    wait();
  }
  void cancel(const std::string& why) override {
    FakeBehavior cancelled = FakeBehavior::fail("cancelled");
    cancelled.message = why;
    std::lock_guard<std::mutex> lock(owner_->mutex_);
    owner_->end_locked(attempt_, cancelled);
  }
  AttemptOutcome wait() override {
    std::unique_lock<std::mutex> lock(owner_->mutex_);
    owner_->ended_.wait(lock, [&] { return attempt_->done.load(); });
    return attempt_->outcome;
  }
  bool done() const override { return attempt_->done; }
  // Like Slurm's jobs, the attempts of a fake with resources of its own outlive
  // the daemon: the attempt leaves live_ for detached_, untouched.
  bool detach() override {
    if (owner_->limits_.resources != ResourceOwner::kExecutor) return false;
    std::lock_guard<std::mutex> lock(owner_->mutex_);
    if (attempt_->ending || attempt_->done) return false;
    attempt_->ending = true;
    attempt_->done = true;
    auto& live = owner_->live_;
    live.erase(std::find(live.begin(), live.end(), attempt_));
    owner_->detached_.push_back(attempt_->launch.step_name);
    return true;
  }
  std::vector<int64_t> pids() const override { return {}; }
  std::string where() const override {
    return "fake attempt " + std::to_string(attempt_->launch.attempt_number) + " of " +
           attempt_->launch.step_name;
  }

 private:
  FakeExecutor* owner_;
  std::shared_ptr<Attempt> attempt_;
};

FakeExecutor::FakeExecutor(Clock* clock, std::string name, Limits limits)
    : clock_(clock), name_(std::move(name)), limits_(limits), thread_([this] { loop(); }) {}

FakeExecutor::~FakeExecutor() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  thread_.join();
}

void FakeExecutor::script(const std::string& step, std::vector<FakeBehavior> behaviors) {
  std::lock_guard<std::mutex> lock(mutex_);
  scripts_[step] = std::move(behaviors);
}

void FakeExecutor::script_recovery(const std::string& step, RecoveredAttempt::State state,
                                   FakeBehavior outcome) {
  std::lock_guard<std::mutex> lock(mutex_);
  recoveries_[step] = {state, std::move(outcome)};
}

bool FakeExecutor::finish(const std::string& step, FakeBehavior behavior) {
  if (behavior.kind == FakeBehavior::Kind::kHang) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& attempt : live_) {
    if (attempt->launch.step_name == step && !attempt->ending) {
      end_locked(attempt, std::move(behavior));
      return true;
    }
  }
  return false;
}

std::vector<AttemptLaunch> FakeExecutor::launches() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return launches_;
}

std::vector<std::string> FakeExecutor::start_order() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> order;
  for (const auto& launch : launches_) order.push_back(launch.step_name);
  return order;
}

std::vector<std::string> FakeExecutor::live_steps() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> steps;
  for (const auto& attempt : live_) steps.push_back(attempt->launch.step_name);
  std::sort(steps.begin(), steps.end());
  return steps;
}

std::vector<std::string> FakeExecutor::detached_steps() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return detached_;
}

int FakeExecutor::recover_calls() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return recover_calls_;
}

Result<std::unique_ptr<AttemptHandle>> FakeExecutor::start(AttemptLaunch launch,
                                                           AttemptSink* sink) {
  std::lock_guard<std::mutex> lock(mutex_);
  launches_.push_back(launch);
  FakeBehavior behavior;
  if (auto script = scripts_.find(launch.step_name);
      script != scripts_.end() && !script->second.empty()) {
    const size_t n = std::min<size_t>(std::max(launch.attempt_number, 1), script->second.size());
    behavior = script->second[n - 1];
  }
  return std::unique_ptr<AttemptHandle>(
      new Handle(this, begin(std::move(launch), sink, std::move(behavior))));
}

RecoveredAttempt FakeExecutor::recover(const AttemptLaunch& launch, AttemptSink* sink) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++recover_calls_;
  RecoveredAttempt recovered;
  auto scripted = recoveries_.find(launch.step_name);
  if (scripted == recoveries_.end()) return recovered;
  recovered.state = scripted->second.first;
  if (recovered.state == RecoveredAttempt::State::kFinished) {
    recovered.outcome = outcome_of(launch, scripted->second.second);
  } else if (recovered.state == RecoveredAttempt::State::kAdopted) {
    recovered.handle.reset(new Handle(this, begin(launch, sink, FakeBehavior::hang())));
  }
  return recovered;
}

std::shared_ptr<FakeExecutor::Attempt> FakeExecutor::begin(AttemptLaunch launch,
                                                           AttemptSink* sink,
                                                           FakeBehavior behavior) {
  auto attempt = std::make_shared<Attempt>();
  attempt->launch = std::move(launch);
  attempt->sink = sink;
  attempt->behavior = behavior;
  attempt->started_at = clock_->now();
  live_.push_back(attempt);
  if (behavior.kind != FakeBehavior::Kind::kHang) {
    end_locked(attempt, std::move(behavior));
  } else if (attempt->launch.timeout_s > 0) {
    deadlines_changed_ = true;  // the thread waits for a deadline it has not seen
    work_.notify_all();
  }
  return attempt;
}

void FakeExecutor::end_locked(const std::shared_ptr<Attempt>& attempt, FakeBehavior behavior) {
  if (attempt->ending || attempt->done) return;
  attempt->ending = true;
  tasks_.push_back([this, attempt, behavior] { deliver(attempt, behavior); });
  work_.notify_all();
}

void FakeExecutor::deliver(const std::shared_ptr<Attempt>& attempt, const FakeBehavior& behavior) {
  if (!behavior.logs.empty()) {
    std::vector<AttemptLogLine> lines;
    for (const auto& text : behavior.logs) lines.push_back({0, 0, "info", "plugin", text});
    attempt->sink->on_logs(std::move(lines));
  }
  if (!behavior.metrics.empty()) {
    std::vector<AttemptMetric> points;
    for (const auto& [name, value] : behavior.metrics) points.push_back({0, name, 0, value});
    attempt->sink->on_metrics(std::move(points));
  }
  AttemptOutcome outcome = outcome_of(attempt->launch, behavior);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    attempt->outcome = outcome;
    attempt->done = true;
    live_.erase(std::find(live_.begin(), live_.end(), attempt));
  }
  ended_.notify_all();
  attempt->sink->on_finished(outcome);  // the last call: the handle is done before it
}

void FakeExecutor::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    // The earliest timeout of an attempt that hangs: the clock wakes this thread.
    std::optional<Clock::time_point> deadline;
    for (const auto& attempt : live_) {
      if (attempt->ending || attempt->launch.timeout_s <= 0) continue;
      const auto at = attempt->started_at + seconds_to_duration(attempt->launch.timeout_s);
      if (!deadline || at < *deadline) deadline = at;
    }
    clock_->wait_until(lock, work_, deadline,
                       [&] { return stopping_ || deadlines_changed_ || !tasks_.empty(); });
    deadlines_changed_ = false;
    const auto now = clock_->now();
    for (const auto& attempt : std::vector<std::shared_ptr<Attempt>>(live_)) {
      if (attempt->ending || attempt->launch.timeout_s <= 0) continue;
      if (now >= attempt->started_at + seconds_to_duration(attempt->launch.timeout_s)) {
        FakeBehavior timeout = FakeBehavior::fail("timeout");
        timeout.message = "no end within timeout_s";
        end_locked(attempt, timeout);
      }
    }
    if (stopping_ && tasks_.empty()) break;
    std::deque<std::function<void()>> tasks;
    tasks.swap(tasks_);
    lock.unlock();
    for (auto& task : tasks) task();
    lock.lock();
  }
}

}  // namespace radflow::testing
