// is_valid_plugin_name: the one rule for plugin names, [a-z0-9][a-z0-9-]*. A name is
// a library's file stem, a word in workflow JSON and URLs, and a CLI argument, so it
// is kept to characters that need no quoting anywhere. The worker's loader refuses
// other names (invalid_name); `radflow plugins new` and radflow_add_plugin() check
// the same rule. Header-only; pure.
#pragma once

#include <string_view>

namespace radflow {

inline bool is_valid_plugin_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || c != '-')) return false;
  }
  return true;
}

}  // namespace radflow
