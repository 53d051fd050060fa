// The environment of a child process (a worker, `radflow-worker --describe`, a
// probe): an allowlist of the daemon's variables instead of all of them, so that
// credentials in the daemon's environment (AWS_SECRET_ACCESS_KEY, tokens) never
// reach plugin code.
//
// Allowed: PATH, HOME, USER, LOGNAME, LANG, TZ, TMPDIR, LD_LIBRARY_PATH, every name
// starting with LC_, CUDA_, NCCL_, OMP_, GOMP_, MKL_, OPENBLAS_ or RADFLOW_, and the
// names in a ProcessSpec's env_passthrough. Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace radflow {

// Whether the daemon's variable `name` is passed on to children.
bool env_name_allowed(std::string_view name, const std::vector<std::string>& passthrough);

// "NAME=value" strings, sorted by name: the allowed entries of `parent` (an
// environ-style array ending in nullptr; entries without '=' are skipped), with
// `env_set` added on top (those are set whatever their name).
std::vector<std::string> child_environment(const char* const* parent,
                                           const std::map<std::string, std::string>& env_set,
                                           const std::vector<std::string>& passthrough);

}  // namespace radflow
