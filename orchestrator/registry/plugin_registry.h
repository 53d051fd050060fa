// PluginRegistry: the plugins in the daemon's plugin folder, learned by running
// `radflow-worker --describe` on each library (the daemon never dlopens a plugin).
// Descriptors are cached by the library's sha256 in a DescriptorCache (the
// database), so a restart re-describes only libraries that changed.
//
// Thread-safe: refresh() may run while other threads read snapshots.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "orchestrator/workflow/plugin_info.h"

namespace radflow {

// Persistent descriptor cache, keyed by the library file's sha256.
struct DescriptorCache {
  std::function<std::optional<std::string>(const std::string& sha256)> get;
  std::function<void(const std::string& sha256, const std::string& descriptor_json)> put;
};

// A library in the plugin folder that could not be described.
struct BrokenPlugin {
  std::string path;
  std::string code;     // the loader's error code, e.g. abi_mismatch
  std::string message;
};

class PluginRegistry {
 public:
  PluginRegistry(std::string plugin_dir, std::string worker_path, DescriptorCache cache);

  // Rescans the folder. Libraries whose size and mtime are unchanged since the last
  // scan are not hashed again. Returns an error only when the folder is unreadable.
  Status refresh();

  std::map<std::string, PluginInfo> plugins() const;
  std::vector<BrokenPlugin> broken() const;
  std::optional<PluginInfo> find(const std::string& name) const;
  const std::string& plugin_dir() const { return plugin_dir_; }

 private:
  Result<PluginInfo> describe(const std::string& path, const std::string& sha256);

  struct FileStamp {
    uintmax_t size_bytes = 0;
    int64_t mtime_ns = 0;
    std::string sha256;
  };

  const std::string plugin_dir_;
  const std::string worker_path_;
  DescriptorCache cache_;

  std::mutex refresh_mutex_;  // serialises refresh()
  mutable std::mutex mutex_;  // guards the members below
  std::map<std::string, PluginInfo> plugins_;   // by name
  std::vector<BrokenPlugin> broken_;
  std::map<std::string, FileStamp> stamps_;     // by path
  std::map<std::string, Result<PluginInfo>> described_;  // by sha256
};

}  // namespace radflow
