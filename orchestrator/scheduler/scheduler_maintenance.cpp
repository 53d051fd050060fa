// The scheduler's housekeeping: deleting finished runs and collecting garbage.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "orchestrator/scheduler/scheduler.h"
#include "orchestrator/scheduler/scheduler_state.h"

namespace radflow {
namespace fs = std::filesystem;

Result<storage::DeleteReport> Scheduler::delete_run(int64_t run_id) {
  std::lock_guard<std::mutex> lock(mutex_);  // no retry can revive it meanwhile
  if (runs_.count(run_id) != 0) {
    return Status::error("run_active", "run " + std::to_string(run_id) +
                                           " is queued or running; cancel it and wait until it "
                                           "has finished before deleting it");
  }
  RF_ASSIGN_OR_RETURN(storage::DeleteReport report, store_->delete_run(run_id));
  const fs::path dir = fs::path(options_.data_dir) / "runs" / std::to_string(run_id);
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) spdlog::warn("run {} deleted, but {} could not be removed: {}", run_id, dir.string(), ec.message());
  spdlog::info("run {} deleted ({} steps, {} attempts, {} log lines; {} artifact rows kept for "
               "other runs)", run_id, report.steps, report.attempts, report.logs,
               report.artifacts_kept);
  bus_->publish({{"type", "run"}, {"run_id", run_id}, {"status", "deleted"}});
  return report;
}

Result<Scheduler::GcResult> Scheduler::collect_garbage(storage::GcMode mode,
                                                       int64_t logs_older_than_ms) {
  GcResult result;
  RF_ASSIGN_OR_RETURN(result.artifacts, store_->collect_garbage(*artifacts_, mode));
  if (logs_older_than_ms > 0 && mode == storage::GcMode::kDelete) {
    RF_ASSIGN_OR_RETURN(result.logs_deleted,
                        store_->prune_logs(storage::now_ms() - logs_older_than_ms));
  }
  return result;
}

}  // namespace radflow
