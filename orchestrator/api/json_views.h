// JSON views of stored records, as the API serves them (docs/api.md). Pure
// functions; the one place that decides field names on the wire.
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "common/status.h"
#include "storage/records.h"

namespace radflow {

nlohmann::json run_summary_json(const storage::RunRecord& run);
nlohmann::json step_json(const storage::StepRecord& step);
nlohmann::json attempt_json(const storage::AttemptRecord& attempt);
nlohmann::json log_json(const storage::LogRecord& log);
nlohmann::json artifact_json(const storage::ArtifactRecord& artifact);
// [{"code","message","path"}, ...]: each error as the API shows it.
nlohmann::json error_list_json(const std::vector<Error>& errors);
// {"errors": error_list_json(errors)}: the body of every error reply.
nlohmann::json errors_json(const std::vector<Error>& errors);
// {"series": {"NAME": [[iteration, value], ...]}}; at most max_points per series
// (0 = all), picked evenly, always keeping the first and last point.
nlohmann::json metric_series_json(const std::vector<storage::MetricPoint>& points,
                                  size_t max_points);

}  // namespace radflow
