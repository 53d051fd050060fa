// DataRoots: the folders a workflow's path params may point into, and the check
// that holds them to it (issue #13).
//
// A plugin declares a param as a path with "format": "path" in its params schema
// (also inside arrays: "items": {"type": "string", "format": "path"}). Such a param
// must be an absolute path that, once resolved, lies inside one of the roots:
// symlinks in the part that exists are followed (realpath), "." and ".." folded, so
// neither "ROOT/../etc" nor a symlink in a root that leads out of it passes.
// Relative paths are refused rather than resolved against anything: the daemon's
// working directory is never a silent base.
//
// Resolving touches the filesystem (it is the one part of radflow_workflow that
// does); the result is a snapshot, and the worker's Landlock confinement
// (executor/landlock.h) is what holds at run time. Immutable after construction;
// safe to share between threads.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/status.h"

namespace radflow {

class DataRoots {
 public:
  DataRoots() = default;  // no roots: every path param is refused
  // Each root is resolved like a param (resolve_path), so a root given through a
  // symlink still matches. Roots must be absolute (the caller resolves relative ones
  // first); they need not exist yet. Duplicates are dropped.
  explicit DataRoots(const std::vector<std::string>& roots);

  const std::vector<std::string>& roots() const { return roots_; }
  // "/a, /b" or "none", for messages.
  std::string describe() const;

  // The resolved form of absolute `path`, or an error: path_relative (not absolute,
  // or empty), path_outside_data_roots (resolves outside every root, holds a NUL, or
  // cannot be resolved). The message starts with `what` (e.g. "steps.a.params.x").
  Result<std::string> check(const std::string& path, const std::string& what) const;

 private:
  std::vector<std::string> roots_;
};

// `path` with the symlinks of its longest existing prefix resolved and "." / ".."
// folded (std::filesystem::weakly_canonical); "" if that fails.
std::string resolve_path(const std::string& path);

// Checks every value of `params` that `schema` declares "format": "path" against
// `roots`, appending an Error per refused path. `pointer` is where `params` sits
// (e.g. "/steps/a/params"). `raw_params` is the step's params as written, before
// "${params.NAME}" substitution and defaults (null: unknown); where a path came
// from a run param, the error points at the run param ("/params/NAME") and says
// which step param used it. An error already reported at the same pointer is not
// repeated.
void check_path_params(const nlohmann::json& params, const nlohmann::json* raw_params,
                       const nlohmann::json& schema, const std::string& pointer,
                       const DataRoots& roots, std::vector<Error>* errors);

}  // namespace radflow
