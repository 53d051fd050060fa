#include "orchestrator/registry/plugin_registry.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <future>
#include <set>

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
  // One scan at a time: concurrent submissions would otherwise describe a new
  // library twice.
  std::lock_guard<std::mutex> refreshing(refresh_mutex_);
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
  // Pass 1: a content hash per library (cached while size and mtime stay the same).
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
  }
  // Pass 2: describe the libraries not seen before, a few at a time: loading a
  // LibTorch plugin takes seconds of mostly I/O, so a first start is much faster in
  // parallel.
  std::vector<std::pair<std::string, std::string>> unknown;  // (path, sha256)
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::set<std::string> queued;
    for (const auto& [path, stamp] : stamps) {
      if (described_.count(stamp.sha256) == 0 && queued.insert(stamp.sha256).second) {
        unknown.emplace_back(path, stamp.sha256);
      }
    }
  }
  constexpr size_t kParallelDescribes = 4;
  for (size_t begin = 0; begin < unknown.size(); begin += kParallelDescribes) {
    std::vector<std::future<Result<PluginInfo>>> pending;
    const size_t end = std::min(unknown.size(), begin + kParallelDescribes);
    for (size_t i = begin; i < end; ++i) {
      pending.push_back(std::async(std::launch::async, [this, &unknown, i] {
        return describe(unknown[i].first, unknown[i].second);
      }));
    }
    for (size_t i = begin; i < end; ++i) {
      Result<PluginInfo> info = pending[i - begin].get();
      std::lock_guard<std::mutex> lock(mutex_);
      described_.insert_or_assign(unknown[i].second, std::move(info));
    }
  }
  // Pass 3: the catalog.
  for (const auto& [path, stamp] : stamps) {
    std::optional<Result<PluginInfo>> known;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      known = described_.at(stamp.sha256);
    }
    if (!known->ok()) {
      broken.push_back({path, known->status().code(), known->status().message()});
      continue;
    }
    PluginInfo plugin = known->value();
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
    spdlog::info("describing plugin {}", path);
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
