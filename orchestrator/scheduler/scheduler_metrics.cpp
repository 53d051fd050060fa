#include "orchestrator/scheduler/scheduler_metrics.h"

#include "common/metrics.h"

namespace radflow::scheduler_metrics {

namespace {

using metrics::Registry;
using metrics::Type;

constexpr const char* kStarted = "radflow_attempts_started_total";
constexpr const char* kFinished = "radflow_attempts_finished_total";
constexpr const char* kFailed = "radflow_attempts_failed_total";
constexpr const char* kDuration = "radflow_step_duration_seconds";
constexpr const char* kWorkers = "radflow_worker_processes";
constexpr const char* kGpus = "radflow_gpu_slots_in_use";
constexpr const char* kCpus = "radflow_cpu_slots_in_use";
constexpr const char* kSteps = "radflow_steps_total";

Registry& registry() {
  static Registry& r = [] () -> Registry& {
    declare();
    return Registry::global();
  }();
  return r;
}

}  // namespace

void declare() {
  Registry& r = Registry::global();
  r.declare(kStarted, Type::kCounter, "Step attempts started, by plugin.");
  r.declare(kFinished, Type::kCounter,
            "Step attempts that ended, by plugin and status (succeeded, failed, cancelled).");
  r.declare(kFailed, Type::kCounter,
            "Step attempts that failed, by reason (plugin_failed, crashed, timeout, ...).");
  r.declare(kDuration, Type::kHistogram,
            "Wall time of step attempts from start to end, by plugin.", metrics::seconds_buckets());
  r.declare(kWorkers, Type::kGauge, "radflow-worker processes running (one per rank).");
  r.declare(kGpus, Type::kGauge, "GPUs held by running attempts.");
  r.declare(kCpus, Type::kGauge, "CPU slots held by running attempts.");
  r.declare(kSteps, Type::kCounter,
            "Steps that reached a final status since radflowd started, by status.");
}

void attempt_started(const std::string& plugin, size_t ranks, size_t gpus, double cpus) {
  Registry& r = registry();
  r.add(kStarted, {{"plugin", plugin}});
  r.add(kWorkers, {}, static_cast<double>(ranks));
  r.add(kGpus, {}, static_cast<double>(gpus));
  r.add(kCpus, {}, cpus);
}

void attempt_ended(const std::string& plugin, const std::string& status,
                   const std::string& reason, double seconds, size_t ranks, size_t gpus,
                   double cpus) {
  Registry& r = registry();
  r.add(kFinished, {{"plugin", plugin}, {"status", status}});
  if (status == "failed") r.add(kFailed, {{"reason", reason.empty() ? "unknown" : reason}});
  r.observe(kDuration, {{"plugin", plugin}}, seconds);
  r.add(kWorkers, {}, -static_cast<double>(ranks));
  r.add(kGpus, {}, -static_cast<double>(gpus));
  r.add(kCpus, {}, -cpus);
}

void step_status(StepStatus status) {
  if (!is_terminal(status)) return;
  registry().add(kSteps, {{"status", to_string(status)}});
}

}  // namespace radflow::scheduler_metrics
