#include "orchestrator/cli/format.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>

namespace radflow::cli {

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string duration(const nlohmann::json& start_ms, const nlohmann::json& end_ms) {
  if (!start_ms.is_number()) return "-";
  int64_t end = end_ms.is_number()
                    ? end_ms.get<int64_t>()
                    : std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  int64_t ms = std::max<int64_t>(0, end - start_ms.get<int64_t>());
  char text[32];
  if (ms < 1000) {
    std::snprintf(text, sizeof(text), "%lld ms", static_cast<long long>(ms));
  } else if (ms < 60'000) {
    std::snprintf(text, sizeof(text), "%.1f s", ms / 1000.0);
  } else if (ms < 3'600'000) {
    std::snprintf(text, sizeof(text), "%lldm%02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms / 1000 % 60));
  } else {
    std::snprintf(text, sizeof(text), "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms / 60'000 % 60));
  }
  return text;
}

std::string time_of_day(int64_t epoch_ms) {
  std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

std::string steps_table(const nlohmann::json& run) {
  std::vector<std::vector<std::string>> rows = {
      {"STEP", "PLUGIN", "STATUS", "ATTEMPTS", "TIME", "DETAIL"}};
  for (const auto& step : run["steps"]) {
    std::string detail;
    if (step["waiting"].is_string()) {
      detail = step["waiting"].get<std::string>();
    } else {
      const std::string reason = step.value("reason", "");
      detail = step.value("message", "");
      if (!reason.empty() && reason != "ok") detail = reason + (detail.empty() ? "" : ": " + detail);
    }
    auto newline = detail.find('\n');
    if (newline != std::string::npos) detail = detail.substr(0, newline) + " ...";
    rows.push_back({step.value("name", ""), step.value("plugin", ""), step.value("status", ""),
                    std::to_string(step["attempts"].size()),
                    duration(step["started_ms"], step["finished_ms"]), detail});
  }
  return table(rows);
}

std::string progress_line(const nlohmann::json& run) {
  std::map<std::string, int> counts;
  std::string current;
  const auto& steps = run["steps"];
  for (const auto& step : steps) {
    const std::string status = step.value("status", "");
    counts[status]++;
    if (status == "running" && current.empty()) {
      char percent[16];
      std::snprintf(percent, sizeof(percent), "%3.0f%%", 100.0 * step.value("progress", 0.0));
      current = step.value("name", "") + " " + percent;
      std::string message = step.value("progress_message", "");
      if (!message.empty()) current += " " + message;
    }
  }
  int done = counts["succeeded"] + counts["cached"];
  std::string line = "run " + std::to_string(run.value("id", 0)) + " " +
                     run.value("status", "") + "  " + std::to_string(done) + "/" +
                     std::to_string(steps.size()) + " steps done";
  if (counts["failed"] > 0) line += ", " + std::to_string(counts["failed"]) + " failed";
  if (!current.empty()) line += "  | " + current;
  line += "  (" + duration(run["started_ms"], run["finished_ms"]) + ")";
  return line;
}

}  // namespace radflow::cli
