#include "orchestrator/worker/plugin_loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <utility>

#include "common/plugin_name.h"

namespace radflow {
namespace {

Result<std::string> real_path(const std::string& path) {
  char buffer[PATH_MAX];
  if (::realpath(path.c_str(), buffer) == nullptr) {
    return Status::error("io_error", path + ": " + std::strerror(errno));
  }
  return std::string(buffer);
}

// The library may not exist yet (that is dlopen's error to report), so resolve its
// folder and keep the file name: a missing file inside the plugin dir is
// dlopen_failed, a path outside it is plugin_outside_dir either way.
std::string resolve_library_path(const std::string& path) {
  auto full = real_path(path);
  if (full.ok()) return full.value();
  std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
  auto parent = real_path(p.parent_path().string());
  if (!parent.ok()) return p.string();
  return (std::filesystem::path(parent.value()) / p.filename()).string();
}

bool is_inside(const std::string& file, const std::string& dir) {
  std::string prefix = dir;
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  return file.size() > prefix.size() && file.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

LoadedPlugin::LoadedPlugin(LoadedPlugin&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)),
      plugin_(std::exchange(other.plugin_, nullptr)),
      path_(std::move(other.path_)) {}

LoadedPlugin& LoadedPlugin::operator=(LoadedPlugin&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) ::dlclose(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    plugin_ = std::exchange(other.plugin_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

LoadedPlugin::~LoadedPlugin() {
  if (handle_ != nullptr) ::dlclose(handle_);
}

Result<LoadedPlugin> load_plugin(const std::string& path, const std::string& plugin_dir,
                                 const std::string& expected_name) {
  const std::string file = resolve_library_path(path);
  auto dir = real_path(plugin_dir);
  if (!dir.ok()) {
    return Status::error("plugin_outside_dir", "plugin " + path + ": plugin dir " + plugin_dir +
                                                   " cannot be resolved: " + dir.status().message());
  }
  if (!is_inside(file, dir.value())) {
    return Status::error("plugin_outside_dir",
                         "plugin " + path + " resolves to " + file +
                             ", which is outside the plugin dir " + dir.value());
  }

  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return Status::error("dlopen_failed",
                         "cannot load plugin " + file + ": " + (why ? why : "unknown dlopen error"));
  }
  // Every early return below closes the handle.
  std::unique_ptr<void, int (*)(void*)> guard(handle, ::dlclose);

  ::dlerror();
  void* entry = ::dlsym(handle, RF_PLUGIN_ENTRY_SYMBOL);
  if (entry == nullptr) {
    return Status::error("missing_entry_symbol", "plugin " + file + " does not export `" +
                                                     RF_PLUGIN_ENTRY_SYMBOL + "`");
  }
  auto entry_fn = reinterpret_cast<rf_plugin_entry_fn>(entry);
  const rf_plugin* plugin = entry_fn();
  if (plugin == nullptr) {
    return Status::error("struct_size_mismatch",
                         "plugin " + file + ": radflow_plugin() returned a null descriptor");
  }
  if (plugin->abi_version != RF_PLUGIN_ABI_VERSION) {
    return Status::error("abi_mismatch", "plugin " + file + " was built for plugin ABI version " +
                                             std::to_string(plugin->abi_version) +
                                             ", this worker speaks version " +
                                             std::to_string(RF_PLUGIN_ABI_VERSION));
  }
  if (plugin->struct_size < kPluginV1Size) {
    return Status::error("struct_size_mismatch",
                         "plugin " + file + ": descriptor struct_size " +
                             std::to_string(plugin->struct_size) + " is smaller than ABI v1's " +
                             std::to_string(kPluginV1Size) + " bytes");
  }
  // Fields are only appended, so a larger descriptor comes from a newer header: its
  // extra fields would be ignored here, and the plugin may depend on them.
  if (plugin->struct_size > sizeof(rf_plugin)) {
    return Status::error("struct_size_mismatch",
                         "plugin " + file + " was built against a newer radflow/plugin.h: its "
                         "descriptor is " + std::to_string(plugin->struct_size) +
                             " bytes, this worker knows " + std::to_string(sizeof(rf_plugin)) +
                             "; upgrade radflow or rebuild the plugin against this one's headers");
  }
  if (plugin->name == nullptr || plugin->version == nullptr || plugin->run == nullptr) {
    return Status::error("struct_size_mismatch",
                         "plugin " + file + ": descriptor has a null name, version or run");
  }
  if (!is_valid_plugin_name(plugin->name)) {
    return Status::error("invalid_name", "plugin " + file + " calls itself '" + plugin->name +
                                             "': a plugin name must match [a-z0-9][a-z0-9-]* "
                                             "(lower-case letters, digits and dashes)");
  }
  if (!expected_name.empty() && expected_name != plugin->name) {
    return Status::error("name_mismatch", "plugin " + file + " calls itself '" + plugin->name +
                                              "', expected '" + expected_name + "'");
  }
  return LoadedPlugin(guard.release(), plugin, file);
}

}  // namespace radflow
