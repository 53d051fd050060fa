#include "orchestrator/scheduler/output_ingest.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace radflow {
namespace fs = std::filesystem;

namespace {

bool path_within(const fs::path& path, const fs::path& dir) {
  std::error_code ec;
  auto rel = fs::weakly_canonical(path, ec).lexically_relative(fs::weakly_canonical(dir, ec));
  return !rel.empty() && *rel.begin() != "..";
}

}  // namespace

Result<std::map<std::string, storage::StoredArtifact>> ingest_outputs(
    storage::ArtifactStore& store, const std::string& attempt_dir,
    const std::map<std::string, std::string>& outputs) {
  const fs::path plan_path = fs::path(attempt_dir) / "ingest.json";
  nlohmann::json plan;
  {
    std::ifstream file(plan_path);
    if (file) plan = nlohmann::json::parse(file, nullptr, false);
  }
  if (!plan.is_object()) {
    plan = nlohmann::json::object();
    const fs::path output_dir = fs::path(attempt_dir) / "outputs";
    for (const auto& [name, path] : outputs) {
      if (!path_within(path, output_dir)) {
        return Status::error("bad_output", "output " + name + " (" + path +
                                               ") is outside the attempt's output folder " +
                                               output_dir.string());
      }
      auto digest = storage::digest_of(path);
      if (!digest.ok()) {
        return Status::error("output_failed",
                             "cannot read output " + name + ": " + digest.status().message());
      }
      plan[name] = {{"path", path}, {"digest", digest->digest}};
    }
    const std::string temp = plan_path.string() + ".tmp";
    std::ofstream(temp) << plan.dump();
    std::error_code ec;
    fs::rename(temp, plan_path, ec);
    if (ec) return Status::error("output_failed", "cannot write " + plan_path.string());
  }

  std::map<std::string, storage::StoredArtifact> stored;
  for (const auto& [name, entry] : plan.items()) {
    const std::string path = entry.value("path", "");
    const std::string digest = entry.value("digest", "");
    std::error_code ec;
    if (fs::exists(path, ec)) {
      auto put = store.put(path);
      if (!put.ok()) {
        return Status::error("output_failed",
                             "cannot store output " + name + ": " + put.status().message());
      }
      stored[name] = *put;
    } else if (store.contains(digest)) {
      // Moved in before a crash interrupted the bookkeeping.
      auto found = storage::digest_of(store.path_of(digest));
      if (!found.ok()) return found.status();
      found->path = store.path_of(digest);
      stored[name] = *found;
    } else {
      return Status::error("output_failed", "output " + name + " vanished from " + path);
    }
  }
  return stored;
}

}  // namespace radflow
