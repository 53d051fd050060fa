// Terminal formatting for the CLI: aligned tables, durations, progress bars.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace radflow::cli {

// Columns padded to their widest cell; the first row is the header.
std::string table(const std::vector<std::vector<std::string>>& rows);
// "850 ms", "12.3 s", "4m05s", "1h02m"; "-" for null.
std::string duration(const nlohmann::json& start_ms, const nlohmann::json& end_ms);
std::string time_of_day(int64_t epoch_ms);
// The steps of a run JSON as a table: status, attempts, time, and why a step failed
// or is still waiting.
std::string steps_table(const nlohmann::json& run);
// One line summarising a run: counts per step status and the running step's progress.
std::string progress_line(const nlohmann::json& run);

}  // namespace radflow::cli
