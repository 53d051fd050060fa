// FakeExecutor: an Executor (orchestrator/executor/executor.h) whose attempts do
// what a test scripts, per step and attempt: succeed with given output files,
// metrics and logs, fail with a reason, hang until cancelled (or time out once the
// clock passes start + timeout_s), or get lost. It starts no process; events reach
// the sink from a thread of its own, as with real executors, and that thread waits
// through the Clock, so FakeClock::wait_for_idle counts it (one waiter).
//
// It records every launch in start order, and answers recover() as scripted
// (kAdopted with a hanging attempt the test finishes later, kFinished with an
// outcome, kGone), for recovery tests on a store a "crashed" daemon left.
//
// Thread-safe. Destroy it after every handle it returned (the scheduler holds it
// by shared_ptr, so that is the default).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "orchestrator/executor/executor.h"

namespace radflow::testing {

struct FakeBehavior {
  enum class Kind { kSucceed, kFail, kHang, kLost };
  Kind kind = Kind::kSucceed;
  std::map<std::string, std::string> outputs;  // name -> content of outputs/<name>
  std::vector<std::pair<std::string, double>> metrics;  // name, value (iteration 0)
  std::vector<std::string> logs;
  std::string reason;  // kFail
  std::string message;

  static FakeBehavior succeed(std::map<std::string, std::string> outputs = {});
  static FakeBehavior fail(std::string reason = "plugin_failed");
  static FakeBehavior hang();
  static FakeBehavior lost();
};

class FakeExecutor : public Executor {
 public:
  explicit FakeExecutor(Clock* clock, std::string name = "fake", Limits limits = {});
  ~FakeExecutor() override;

  // Attempt n of `step` does behaviors[min(n, size) - 1]; unscripted steps succeed
  // without outputs.
  void script(const std::string& step, std::vector<FakeBehavior> behaviors);
  // What recover() answers for `step`: kAdopted (a hanging attempt; end it with
  // finish()), kFinished (with `outcome`'s result; its outputs are written into the
  // attempt folder), or kGone (also for unscripted steps).
  void script_recovery(const std::string& step, RecoveredAttempt::State state,
                       FakeBehavior outcome = FakeBehavior::succeed());
  // Ends the live attempt of `step` as `behavior` says (kHang is refused). False
  // when `step` has no live attempt.
  bool finish(const std::string& step, FakeBehavior behavior);

  std::vector<AttemptLaunch> launches() const;  // every start, in order
  std::vector<std::string> start_order() const;  // step names of launches()
  std::vector<std::string> live_steps() const;   // steps with an attempt not ended
  // Steps whose attempt was detached (AttemptHandle::detach), in order: only a
  // fake made with Limits::resources = kExecutor lets its attempts outlive the
  // daemon; they then run on, neither ended nor cancelled.
  std::vector<std::string> detached_steps() const;
  int recover_calls() const;

  std::string name() const override { return name_; }
  Limits limits() const override { return limits_; }
  Result<std::unique_ptr<AttemptHandle>> start(AttemptLaunch launch, AttemptSink* sink) override;
  RecoveredAttempt recover(const AttemptLaunch& launch, AttemptSink* sink) override;

 private:
  struct Attempt;
  class Handle;
  std::shared_ptr<Attempt> begin(AttemptLaunch launch, AttemptSink* sink, FakeBehavior behavior);
  // Queues the end of `attempt` as `behavior` says (caller holds mutex_); the
  // first end asked for wins.
  void end_locked(const std::shared_ptr<Attempt>& attempt, FakeBehavior behavior);
  void deliver(const std::shared_ptr<Attempt>& attempt, const FakeBehavior& behavior);
  void loop();

  Clock* const clock_;
  const std::string name_;
  const Limits limits_;

  mutable std::mutex mutex_;
  std::condition_variable work_;   // the thread: a task or stopping
  std::condition_variable ended_;  // wait(): an attempt ended
  bool stopping_ = false;
  bool deadlines_changed_ = false;  // a hanging attempt with a timeout began
  std::deque<std::function<void()>> tasks_;
  std::map<std::string, std::vector<FakeBehavior>> scripts_;
  std::map<std::string, std::pair<RecoveredAttempt::State, FakeBehavior>> recoveries_;
  std::vector<AttemptLaunch> launches_;
  std::vector<std::shared_ptr<Attempt>> live_;
  std::vector<std::string> detached_;
  int recover_calls_ = 0;
  std::thread thread_;
};

}  // namespace radflow::testing
