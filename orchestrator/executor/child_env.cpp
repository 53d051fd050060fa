#include "orchestrator/executor/child_env.h"

#include <algorithm>

namespace radflow {
namespace {

constexpr std::string_view kAllowedNames[] = {"PATH", "HOME",   "USER",  "LOGNAME",
                                              "LANG", "TZ",     "TMPDIR", "LD_LIBRARY_PATH"};
constexpr std::string_view kAllowedPrefixes[] = {"LC_",  "CUDA_", "NCCL_",     "OMP_",
                                                 "GOMP_", "MKL_", "OPENBLAS_", "RADFLOW_"};

}  // namespace

bool env_name_allowed(std::string_view name, const std::vector<std::string>& passthrough) {
  if (name.empty()) return false;
  for (std::string_view allowed : kAllowedNames) {
    if (name == allowed) return true;
  }
  for (std::string_view prefix : kAllowedPrefixes) {
    if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix) return true;
  }
  return std::find(passthrough.begin(), passthrough.end(), name) != passthrough.end();
}

std::vector<std::string> child_environment(const char* const* parent,
                                           const std::map<std::string, std::string>& env_set,
                                           const std::vector<std::string>& passthrough) {
  std::map<std::string, std::string> env;
  for (const char* const* entry = parent; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = text.substr(0, eq);
    if (env_name_allowed(name, passthrough)) env.emplace(name, text.substr(eq + 1));
  }
  for (const auto& [name, value] : env_set) env[name] = value;
  std::vector<std::string> strings;
  strings.reserve(env.size());
  for (const auto& [name, value] : env) strings.push_back(name + "=" + value);
  return strings;
}

}  // namespace radflow
