#include "orchestrator/executor/attempt_recovery.h"

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "orchestrator/executor/event_line.h"
#include "orchestrator/executor/process_tree.h"

namespace radflow {
namespace fs = std::filesystem;

std::string result_path(const std::string& attempt_dir, int rank) {
  return (fs::path(attempt_dir) / ("rank-" + std::to_string(rank) + ".result.json")).string();
}

std::optional<uint64_t> process_start_ticks(int64_t pid) {
  auto stat = read_proc_stat(static_cast<pid_t>(pid));
  if (!stat) return std::nullopt;
  return stat->start_ticks;
}

void record_workers(const std::string& attempt_dir, const std::vector<int64_t>& pids) {
  nlohmann::json workers = nlohmann::json::array();
  for (int64_t pid : pids) {
    workers.push_back({{"pid", pid}, {"start_ticks", process_start_ticks(pid).value_or(0)}});
  }
  const fs::path path = fs::path(attempt_dir) / "workers.json";
  std::ofstream(path.string() + ".tmp") << workers.dump();
  std::error_code ec;
  fs::rename(path.string() + ".tmp", path, ec);
}

int stop_orphaned_workers(const std::string& attempt_dir) {
  std::ifstream file(fs::path(attempt_dir) / "workers.json");
  auto workers = nlohmann::json::parse(file, nullptr, false);
  if (!workers.is_array()) return 0;
  int stopped = 0;
  for (const auto& worker : workers) {
    const int64_t pid = worker.value("pid", int64_t{0});
    const uint64_t ticks = worker.value("start_ticks", uint64_t{0});
    if (pid <= 0 || ticks == 0 || process_start_ticks(pid) != ticks) continue;
    kill(static_cast<pid_t>(-pid), SIGKILL);  // its whole process group
    ++stopped;
  }
  return stopped;
}

std::optional<AttemptOutcome> read_attempt_result(const std::string& attempt_dir, int ranks) {
  std::optional<AttemptOutcome> first_failure;
  AttemptOutcome success;
  for (int rank = 0; rank < ranks; ++rank) {
    std::ifstream file(result_path(attempt_dir, rank));
    auto result = nlohmann::json::parse(file, nullptr, false);
    if (!result.is_object() || !result.contains("end")) return std::nullopt;
    // The worker wrote the file, but plugin code ran in that process: trust no field.
    nlohmann::json end_json = result["end"];
    if (!end_json.is_object()) return std::nullopt;
    end_json["type"] = "end";
    const WorkerEvent end = parse_event(end_json);
    AttemptOutcome outcome;
    outcome.status = end.status;
    outcome.reason = end.reason;
    outcome.message = end.message;
    outcome.exit_code = outcome.status == "succeeded" ? 0 : 1;
    if (rank == 0 && result.contains("outputs") && result["outputs"].is_object()) {
      for (const auto& [name, path] : result["outputs"].items()) {
        if (!path.is_string()) continue;
        const WorkerEvent output =
            parse_event({{"type", "output"}, {"name", name}, {"path", path}});
        outcome.outputs[output.name] = output.path;
      }
    }
    if (rank == 0 && result.contains("output_digests") && result["output_digests"].is_object()) {
      for (const auto& [name, digest] : result["output_digests"].items()) {
        if (digest.is_string() && outcome.outputs.count(name) > 0) {
          outcome.output_digests[name] = digest.get<std::string>();
        }
      }
    }
    if (outcome.status != "succeeded" && !first_failure) first_failure = outcome;
    if (rank == 0) success = outcome;
  }
  if (first_failure) return first_failure;
  return success;
}

}  // namespace radflow
