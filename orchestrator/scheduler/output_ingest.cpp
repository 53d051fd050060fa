#include "orchestrator/scheduler/output_ingest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
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

bool is_digest(const std::string& text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The plan is radflow's own file, but it lies in a folder the plugin could write
// to: every entry must be an object with a path inside the output folder and a
// sha256 digest, or the whole plan is ignored (and made again from the outputs).
bool plan_is_valid(const nlohmann::json& plan, const fs::path& output_dir) {
  if (!plan.is_object()) return false;
  for (const auto& [name, entry] : plan.items()) {
    if (!entry.is_object()) return false;
    auto path = entry.find("path");
    auto digest = entry.find("digest");
    if (path == entry.end() || !path->is_string() || digest == entry.end() ||
        !digest->is_string()) {
      return false;
    }
    if (!path_within(path->get<std::string>(), output_dir)) return false;
    if (!is_digest(digest->get<std::string>())) return false;
  }
  return true;
}

}  // namespace

Result<std::map<std::string, storage::StoredArtifact>> ingest_outputs(
    storage::ArtifactStore& store, const std::string& attempt_dir,
    const std::map<std::string, std::string>& outputs,
    const std::map<std::string, std::string>& expected_digests) {
  const fs::path plan_path = fs::path(attempt_dir) / "ingest.json";
  const fs::path output_dir = fs::path(attempt_dir) / "outputs";
  nlohmann::json plan;
  {
    std::ifstream file(plan_path);
    if (file) plan = nlohmann::json::parse(file, nullptr, false);
  }
  // Outputs hashed by this call, by name: stored without reading them again. A
  // plan found on disk (made before a crash) is checked by hashing again instead.
  std::map<std::string, storage::StoredArtifact> hashed;
  if (!plan_is_valid(plan, output_dir)) {
    plan = nlohmann::json::object();
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
      hashed[name] = *digest;
    }
    const std::string temp = plan_path.string() + ".tmp";
    std::ofstream(temp) << plan.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::error_code ec;
    fs::rename(temp, plan_path, ec);
    if (ec) return Status::error("output_failed", "cannot write " + plan_path.string());
  }

  for (const auto& [name, expected] : expected_digests) {
    auto entry = plan.find(name);
    if (entry == plan.end()) continue;
    const std::string here = (*entry)["digest"].get<std::string>();
    if (here != expected) {
      // Made again next time: the copy may still be arriving.
      std::error_code ec;
      fs::remove(plan_path, ec);
      return Status::error("output_digest_mismatch",
                           "output " + name + " differs from what the worker wrote: sha256 " +
                               expected + " where it ran, " + here +
                               " as read here (an incomplete or stale copy on the shared "
                               "filesystem: check that it is the same mount, and its caching)");
    }
  }

  std::map<std::string, storage::StoredArtifact> stored;
  for (const auto& [name, entry] : plan.items()) {
    const std::string path = entry["path"].get<std::string>();
    const std::string digest = entry["digest"].get<std::string>();
    std::error_code ec;
    if (fs::exists(path, ec)) {
      auto fresh = hashed.find(name);
      auto put = fresh != hashed.end() ? store.put_hashed(fresh->second) : store.put(path);
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

std::vector<storage::ArtifactRecord> artifact_records(
    const std::map<std::string, storage::StoredArtifact>& stored) {
  std::vector<storage::ArtifactRecord> records;
  for (const auto& [name, artifact] : stored) {
    storage::ArtifactRecord record;
    record.digest = artifact.digest;
    record.kind = artifact.kind;
    record.size_bytes = artifact.size_bytes;
    record.output_name = name;
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace radflow
