// LocalExecutor: runs an attempt's ranks as radflow-worker processes on this
// machine (RunningAttempt, attempt.h), one per rank, and after a restart stops the
// orphans an earlier daemon left and takes their results if every rank wrote one
// (attempt_recovery.h). It never adopts: a worker's pipes died with the daemon
// that started it, so nothing could follow it from here.
//
// start() must be called on the thread that should own the workers: they get
// SIGKILL when that thread exits (process.h), which is how a crashed daemon's
// workers die with it. Thread-safe otherwise; holds no state between attempts.
#pragma once

#include <memory>
#include <string>

#include "orchestrator/executor/executor.h"

namespace radflow {

class LocalExecutor : public Executor {
 public:
  static constexpr const char* kName = "local";

  std::string name() const override { return kName; }
  Result<std::unique_ptr<AttemptHandle>> start(AttemptLaunch launch, AttemptSink* sink) override;
  // kFinished with the result every rank left, else kGone; never kAdopted.
  RecoveredAttempt recover(const AttemptLaunch& launch, AttemptSink* sink) override;
};

}  // namespace radflow
