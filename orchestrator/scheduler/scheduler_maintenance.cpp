// The scheduler's housekeeping: deleting finished runs and collecting garbage.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "orchestrator/scheduler/scheduler.h"
#include "orchestrator/scheduler/scheduler_state.h"

namespace radflow {
namespace fs = std::filesystem;

Result<storage::DeleteReport> Scheduler::delete_run(int64_t run_id) {
  std::lock_guard<std::mutex> control(control_mutex_);  // no retry can revive it meanwhile
  RF_ASSIGN_OR_RETURN(storage::RunRecord record, store_->get_run(run_id));
  RF_ASSIGN_OR_RETURN(bool active, is_active(record));
  if (active) {
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

Result<Scheduler::GcResult> Scheduler::collect_garbage(const GcOptions& options) {
  GcResult result;
  RF_ASSIGN_OR_RETURN(result.artifacts,
                      store_->collect_garbage(*artifacts_, options.mode, options.min_age_ms));
  const bool remove = options.mode == storage::GcMode::kDelete;
  if (options.logs_older_than_ms > 0 && remove) {
    RF_ASSIGN_OR_RETURN(result.logs_deleted,
                        store_->prune_logs(storage::now_ms() - options.logs_older_than_ms));
  }
  if (options.dirs_older_than_ms <= 0) return result;
  const fs::path runs = fs::path(options_.data_dir) / "runs";
  const int64_t cutoff = storage::now_ms() - options.dirs_older_than_ms;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(runs, ec)) {
    int64_t run_id = 0;
    try {
      run_id = std::stoll(entry.path().filename().string());
    } catch (...) {
      continue;  // not a run folder
    }
    auto run = store_->get_run(run_id);
    // Only finished runs, and a deleted run's leftovers; never an active run's.
    bool old_enough = !run.ok() && run.status().code() == "not_found";
    if (run.ok()) {
      const auto status = run_status_from(run->status);
      old_enough = status && is_terminal(*status) && run->finished_ms > 0 &&
                   run->finished_ms < cutoff;
    }
    if (!old_enough) continue;
    {
      std::lock_guard<std::mutex> control(control_mutex_);
      auto current = store_->get_run(run_id);
      if (current.ok()) {
        auto active = is_active(*current);
        if (!active.ok() || *active) continue;  // revived by a retry meanwhile
      }
      if (remove) fs::remove_all(entry.path(), ec);
    }
    ++result.attempt_dirs_removed;
  }
  return result;
}

}  // namespace radflow
