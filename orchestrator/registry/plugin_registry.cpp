#include "orchestrator/registry/plugin_registry.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "common/sha256.h"
#include "orchestrator/executor/process.h"

namespace radflow {
namespace fs = std::filesystem;

namespace {
constexpr double kDescribeTimeoutS = 60;
}

PluginRegistry::PluginRegistry(std::string plugin_dir, std::string worker_path,
                               DescriptorCache cache)
    : plugin_dir_(std::move(plugin_dir)),
      worker_path_(std::move(worker_path)),
      cache_(std::move(cache)) {}

Status PluginRegistry::refresh() {
  std::error_code ec;
  fs::directory_iterator it(plugin_dir_, ec);
  if (ec) {
    return Status::error("plugin_dir_unreadable",
                         "cannot read plugin folder " + plugin_dir_ + ": " + ec.message(),
                         plugin_dir_);
  }
  std::vector<std::string> paths;
  for (const auto& entry : it) {
    if (entry.is_regular_file() && entry.path().extension() == ".so") {
      paths.push_back(fs::absolute(entry.path()).lexically_normal().string());
    }
  }
  std::sort(paths.begin(), paths.end());

  std::map<std::string, PluginInfo> plugins;
  std::vector<BrokenPlugin> broken;
  std::map<std::string, FileStamp> stamps;
  for (const auto& path : paths) {
    FileStamp stamp;
    stamp.size_bytes = fs::file_size(path, ec);
    stamp.mtime_ns = fs::last_write_time(path, ec).time_since_epoch().count();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto old = stamps_.find(path);
      if (old != stamps_.end() && old->second.size_bytes == stamp.size_bytes &&
          old->second.mtime_ns == stamp.mtime_ns) {
        stamp.sha256 = old->second.sha256;
      }
    }
    if (stamp.sha256.empty()) {
      auto digest = sha256_file(path);
      if (!digest.ok()) {
        broken.push_back({path, digest.status().code(), digest.status().message()});
        continue;
      }
      stamp.sha256 = *digest;
    }
    stamps[path] = stamp;
    std::optional<Result<PluginInfo>> known;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it2 = described_.find(stamp.sha256);
      if (it2 != described_.end()) known = it2->second;
    }
    Result<PluginInfo> info = known ? *known : describe(path, stamp.sha256);
    if (!known) {
      std::lock_guard<std::mutex> lock(mutex_);
      described_.insert_or_assign(stamp.sha256, info);
    }
    if (!info.ok()) {
      broken.push_back({path, info.status().code(), info.status().message()});
      continue;
    }
    PluginInfo plugin = *info;
    plugin.path = path;
    if (plugins.count(plugin.name) != 0) {
      broken.push_back({path, "duplicate_plugin",
                        "plugin name \"" + plugin.name + "\" is also provided by " +
                            plugins[plugin.name].path});
      continue;
    }
    plugins[plugin.name] = std::move(plugin);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  // Say it once per change, not on every rescan.
  for (const auto& b : broken) {
    bool known = false;
    for (const auto& old : broken_) known |= old.path == b.path && old.message == b.message;
    if (!known) spdlog::warn("plugin {} cannot be used: {} ({})", b.path, b.message, b.code);
  }
  plugins_ = std::move(plugins);
  broken_ = std::move(broken);
  stamps_ = std::move(stamps);
  return Status();
}

Result<PluginInfo> PluginRegistry::describe(const std::string& path, const std::string& sha256) {
  std::string text;
  if (cache_.get) {
    if (auto cached = cache_.get(sha256)) text = *cached;
  }
  if (text.empty()) {
    ProcessSpec spec;
    spec.argv = {worker_path_, "--describe", path, "--plugin-dir", plugin_dir_};
    spec.env_set["CUDA_VISIBLE_DEVICES"] = "";
    RF_ASSIGN_OR_RETURN(CapturedRun run, run_captured(spec, kDescribeTimeoutS));
    nlohmann::json reply = nlohmann::json::parse(run.out, nullptr, false);
    if (reply.is_discarded() || !reply.is_object()) {
      std::string why = run.exit.signal ? "was killed by " + signal_name(run.exit.signal)
                                        : "exited with code " + std::to_string(run.exit.exit_code);
      return Status::error("describe_failed", "radflow-worker --describe " + path + " " + why +
                                                  " without a descriptor: " + run.err,
                           path);
    }
    if (reply.contains("error")) {
      return Status::error(reply["error"].value("code", "describe_failed"),
                           reply["error"].value("message", "unknown error"), path);
    }
    text = reply.dump();
    if (cache_.put) cache_.put(sha256, text);
  }
  PluginInfo info;
  std::string error;
  if (!from_json(nlohmann::json::parse(text, nullptr, false), &info, &error)) {
    return Status::error("describe_failed", "bad descriptor from " + path + ": " + error, path);
  }
  info.path = path;
  info.sha256 = sha256;
  return info;
}

std::map<std::string, PluginInfo> PluginRegistry::plugins() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return plugins_;
}

std::vector<BrokenPlugin> PluginRegistry::broken() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return broken_;
}

std::optional<PluginInfo> PluginRegistry::find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = plugins_.find(name);
  if (it == plugins_.end()) return std::nullopt;
  return it->second;
}

}  // namespace radflow
