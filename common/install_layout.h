// default_plugin_dir: the plugin folder radflowd and radflow use when none is given.
//
// Installed (`cmake --install`), the binaries sit in <prefix>/bin and the plugins in
// <prefix>/lib/radflow/plugins: the folder is found relative to the binary's own
// folder, so an installed tree works wherever it is unpacked. In a build tree that
// relative folder does not exist and the build's plugin folder is used.
// Header-only and stateless; safe from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

namespace radflow {

// `self_dir`: the running binary's folder. `from_bin`: the plugin folder relative to
// bin/ as installed ("../lib/radflow/plugins"). `build_dir`: the build tree's folder.
inline std::string default_plugin_dir(const std::string& self_dir, const std::string& from_bin,
                                      const std::string& build_dir) {
  std::error_code ec;
  const std::filesystem::path installed =
      (std::filesystem::path(self_dir) / from_bin).lexically_normal();
  if (!from_bin.empty() && std::filesystem::is_directory(installed, ec)) return installed.string();
  return build_dir;
}

}  // namespace radflow
