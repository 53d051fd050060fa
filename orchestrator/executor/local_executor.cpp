#include "orchestrator/executor/local_executor.h"

#include <spdlog/spdlog.h>

#include "orchestrator/executor/attempt_recovery.h"

namespace radflow {
namespace {

// RunningAttempt behind the AttemptHandle interface. An adapter rather than a base
// class: attempt.h stays free of executor.h, which includes it.
class LocalAttemptHandle : public AttemptHandle {
 public:
  explicit LocalAttemptHandle(std::unique_ptr<RunningAttempt> attempt)
      : attempt_(std::move(attempt)) {}

  void cancel(const std::string& why) override { attempt_->cancel(why); }
  AttemptOutcome wait() override { return attempt_->wait(); }
  bool done() const override { return attempt_->done(); }
  std::vector<int64_t> pids() const override { return attempt_->pids(); }
  std::string where() const override {
    std::string text = "pids ";
    const auto pids = attempt_->pids();
    for (size_t i = 0; i < pids.size(); ++i) text += (i ? "," : "") + std::to_string(pids[i]);
    return text;
  }

 private:
  std::unique_ptr<RunningAttempt> attempt_;
};

}  // namespace

Result<std::unique_ptr<AttemptHandle>> LocalExecutor::start(AttemptLaunch launch,
                                                            AttemptSink* sink) {
  RF_ASSIGN_OR_RETURN(auto running, RunningAttempt::start(std::move(launch), sink));
  return std::unique_ptr<AttemptHandle>(new LocalAttemptHandle(std::move(running)));
}

RecoveredAttempt LocalExecutor::recover(const AttemptLaunch& launch, AttemptSink* /*sink*/) {
  if (int stopped = stop_orphaned_workers(launch.attempt_dir); stopped > 0) {
    spdlog::warn("recovery: stopped {} orphaned worker(s) of {} attempt {}", stopped,
                 launch.step_name, launch.attempt_number);
  }
  RecoveredAttempt recovered;
  if (auto result = read_attempt_result(launch.attempt_dir, launch.ranks)) {
    recovered.state = RecoveredAttempt::State::kFinished;
    recovered.outcome = std::move(*result);
  }
  return recovered;
}

}  // namespace radflow
