// load_plugin: dlopens one step plugin and checks it is one radflow can call.
//
// The checks run in a fixed order, each failing with its own error code (the
// "reason" a failed attempt reports), and every message names the plugin file:
//   plugin_outside_dir    realpath of the library is not inside realpath(plugin_dir)
//   dlopen_failed         dlopen refused it (missing file, bad ELF, missing symbol
//                         of a dependency); the message carries dlerror()
//   missing_entry_symbol  no exported `radflow_plugin`
//   abi_mismatch          abi_version != RF_PLUGIN_ABI_VERSION
//   struct_size_mismatch  the descriptor is smaller than ABI v1's fields, larger than
//                         this header's rf_plugin (built against a newer header), or
//                         name, version or run is null
//   invalid_name          the name does not match [a-z0-9][a-z0-9-]*
//   name_mismatch         descriptor name != expected_name (skipped when empty)
//
// LoadedPlugin owns the dlopen handle. The library is opened with RTLD_NODELETE so
// that code a plugin left running (threads, atexit handlers) stays mapped after the
// handle is closed. Move-only; not thread-safe, but the descriptor it points to is
// immutable static data of the plugin.
#pragma once

#include <string>

#include "common/plugin_name.h"  // is_valid_plugin_name, checked here
#include "common/status.h"
#include "radflow/plugin.h"

namespace radflow {

class LoadedPlugin {
 public:
  LoadedPlugin(void* handle, const rf_plugin* plugin, std::string path)
      : handle_(handle), plugin_(plugin), path_(std::move(path)) {}
  LoadedPlugin(LoadedPlugin&& other) noexcept;
  LoadedPlugin& operator=(LoadedPlugin&& other) noexcept;
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;
  ~LoadedPlugin();

  // The plugin's static descriptor; valid while this object lives.
  const rf_plugin& plugin() const { return *plugin_; }
  // The resolved (realpath) library file.
  const std::string& path() const { return path_; }

 private:
  void* handle_ = nullptr;
  const rf_plugin* plugin_ = nullptr;
  std::string path_;
};

// Bytes of rf_plugin that ABI v1 defines: everything up to and including run.
constexpr size_t kPluginV1Size = offsetof(rf_plugin, run) + sizeof(rf_plugin::run);

Result<LoadedPlugin> load_plugin(const std::string& path, const std::string& plugin_dir,
                                 const std::string& expected_name);

}  // namespace radflow
