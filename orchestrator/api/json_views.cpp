#include "orchestrator/api/json_views.h"

#include <cmath>
#include <map>

namespace radflow {
namespace {

// JSON has no NaN or infinity; null stands for them on the wire.
nlohmann::json number_or_null(double value) {
  if (std::isfinite(value)) return value;
  return nullptr;
}

nlohmann::json time_or_null(int64_t ms) { return ms > 0 ? nlohmann::json(ms) : nlohmann::json(); }

}  // namespace

nlohmann::json run_summary_json(const storage::RunRecord& run) {
  int64_t end = run.finished_ms > 0 ? run.finished_ms : 0;
  // Tags have their own column: run lists do not read the workflow.
  nlohmann::json tags = nlohmann::json::parse(run.tags_json, nullptr, false);
  if (!tags.is_array()) tags = nlohmann::json::array();
  // Member by member rather than from an initializer list, which builds every
  // pair as a two-element array and copies it: a run list builds 50 of these.
  nlohmann::json summary(nlohmann::json::value_t::object);
  summary["submitted_by"] = run.submitted_by;
  summary["tags"] = std::move(tags);
  summary["id"] = run.id;
  summary["name"] = run.name;
  summary["status"] = run.status;
  summary["message"] = run.message;
  summary["created_ms"] = run.created_ms;
  summary["started_ms"] = time_or_null(run.started_ms);
  summary["finished_ms"] = time_or_null(run.finished_ms);
  summary["duration_ms"] = run.started_ms > 0 && end > 0 ? nlohmann::json(end - run.started_ms)
                                                         : nlohmann::json();
  return summary;
}

nlohmann::json step_json(const storage::StepRecord& step) {
  nlohmann::json inputs = nlohmann::json::object();
  for (const auto& input : step.inputs) {
    inputs[input.input_name] = input.source_step + "." + input.source_output;
  }
  return {
      {"id", step.id},
      {"name", step.name},
      {"plugin", step.plugin},
      {"plugin_version", step.plugin_version},
      {"status", step.status},
      {"reason", step.reason},
      {"message", step.message},
      {"progress", step.progress},
      {"progress_message", step.progress_message},
      {"params", nlohmann::json::parse(step.params_json, nullptr, false)},
      {"resources", nlohmann::json::parse(step.resources_json, nullptr, false)},
      {"inputs", inputs},
      {"retries", step.retries},
      {"timeout_s", step.timeout_s},
      {"cache", step.cache},
      {"priority", step.priority},
      {"cache_key", step.cache_key},
      {"cached_from_step", step.cached_from_step ? nlohmann::json(step.cached_from_step)
                                                 : nlohmann::json()},
      {"started_ms", time_or_null(step.started_ms)},
      {"finished_ms", time_or_null(step.finished_ms)},
  };
}

nlohmann::json attempt_json(const storage::AttemptRecord& attempt) {
  return {
      {"id", attempt.id},
      {"number", attempt.number},
      {"status", attempt.status},
      {"reason", attempt.reason},
      {"message", attempt.message},
      {"exit_code", attempt.exit_code ? nlohmann::json(*attempt.exit_code) : nlohmann::json()},
      {"signal", attempt.signal ? nlohmann::json(*attempt.signal) : nlohmann::json()},
      {"pids", attempt.pids},
      {"devices", attempt.devices},
      {"started_ms", time_or_null(attempt.started_ms)},
      {"finished_ms", time_or_null(attempt.finished_ms)},
  };
}

nlohmann::json log_json(const storage::LogRecord& log) {
  return {{"id", log.id},         {"attempt_id", log.attempt_id}, {"ts_ms", log.ts_ms},
          {"level", log.level},   {"stream", log.stream},         {"message", log.message}};
}

nlohmann::json artifact_json(const storage::ArtifactRecord& artifact) {
  return {
      {"artifact", artifact.id},
      {"name", artifact.output_name},
      {"digest", artifact.digest},
      {"kind", artifact.kind},
      {"size_bytes", artifact.size_bytes},
      {"created_ms", artifact.created_ms},
      {"producer_attempt", artifact.producer_attempt_id ? nlohmann::json(artifact.producer_attempt_id)
                                                        : nlohmann::json()},
  };
}

nlohmann::json error_list_json(const std::vector<Error>& errors) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : errors) {
    list.push_back({{"code", e.code}, {"message", e.message}, {"path", e.path}});
  }
  return list;
}

nlohmann::json errors_json(const std::vector<Error>& errors) {
  return {{"errors", error_list_json(errors)}};
}

nlohmann::json metric_series_json(const std::vector<storage::MetricPoint>& points,
                                  size_t max_points) {
  std::map<std::string, std::vector<const storage::MetricPoint*>> by_name;
  for (const auto& p : points) by_name[p.name].push_back(&p);
  nlohmann::json series = nlohmann::json::object();
  for (const auto& [name, list] : by_name) {
    nlohmann::json out = nlohmann::json::array();
    const size_t n = list.size();
    if (max_points == 0 || n <= max_points || max_points < 2) {
      for (const auto* p : list) out.push_back({p->iteration, number_or_null(p->value)});
    } else {
      // Even stride over the index, first and last kept: cheap and shape-preserving
      // enough for loss curves.
      for (size_t k = 0; k < max_points; ++k) {
        size_t i = k * (n - 1) / (max_points - 1);
        out.push_back({list[i]->iteration, number_or_null(list[i]->value)});
      }
    }
    series[name] = std::move(out);
  }
  return {{"series", series}};
}

}  // namespace radflow
