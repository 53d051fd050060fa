#include "orchestrator/scheduler/attempt_executor_record.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "orchestrator/executor/local_executor.h"

namespace radflow {
namespace fs = std::filesystem;

namespace {
fs::path record_path(const std::string& attempt_dir) {
  return fs::path(attempt_dir) / "executor.json";
}

// What an attempt folder without a record ran on.
constexpr const char* kUnrecordedExecutor = LocalExecutor::kName;
}  // namespace

Status record_attempt_executor(const std::string& attempt_dir, const std::string& executor) {
  std::error_code ec;
  fs::create_directories(attempt_dir, ec);
  if (ec) {
    return Status::error("io_error", "cannot create the attempt folder " + attempt_dir + ": " +
                                         ec.message());
  }
  if (executor == kUnrecordedExecutor) return Status();
  std::ofstream out(record_path(attempt_dir), std::ios::trunc);
  out << nlohmann::json{{"executor", executor}}.dump() << "\n";
  out.flush();
  if (!out) {
    return Status::error("io_error", "cannot write " + record_path(attempt_dir).string());
  }
  return Status();
}

std::string recorded_attempt_executor(const std::string& attempt_dir) {
  std::error_code ec;
  if (!fs::exists(record_path(attempt_dir), ec)) return kUnrecordedExecutor;
  std::ifstream in(record_path(attempt_dir));
  const auto record = nlohmann::json::parse(in, nullptr, false);
  if (!record.is_object()) return "";
  auto executor = record.find("executor");
  return executor != record.end() && executor->is_string() ? executor->get<std::string>() : "";
}

}  // namespace radflow
