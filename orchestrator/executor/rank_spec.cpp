#include "orchestrator/executor/rank_spec.h"

#include <filesystem>

#include "orchestrator/executor/attempt_recovery.h"

namespace radflow {
namespace {

namespace fs = std::filesystem;

std::string absolute_path(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

// What a confined worker may touch beyond the system's paths (landlock.h). It
// writes in its step's folder, not only its attempt's: state a step keeps across
// attempts lives beside them (pretrain's resume/ checkpoint).
nlohmann::json confinement_json(const AttemptLaunch& l) {
  std::vector<std::string> read = l.confine_read;
  for (const auto& [name, path] : l.inputs) read.push_back(path);
  const std::string step_dir = fs::path(l.attempt_dir).parent_path().string();
  return {{"read", read}, {"read_exec", {l.plugin_dir}}, {"read_write", {step_dir}}};
}

}  // namespace

nlohmann::json rank_spec_json(const AttemptLaunch& l, int rank) {
  const fs::path dir(l.attempt_dir);
  nlohmann::json spec = {
      {"plugin_path", l.plugin_path},
      {"plugin_dir", l.plugin_dir},
      {"plugin_name", l.plugin_name},
      {"params", l.params},
      {"inputs", l.inputs},
      {"output_dir", (dir / "outputs").string()},
      {"rank", rank},
      {"world_size", l.ranks},
      {"local_rank", rank},
      {"device", l.gpus.empty() ? std::string("cpu")
                                : "cuda:" + std::to_string(rank % l.gpus.size())},
      {"events_fd", 3},
      {"result_path", result_path(dir, rank)},
  };
  if (l.confine) spec["confine"] = confinement_json(l);
  if (l.hash_outputs) spec["hash_outputs"] = true;
  return spec;
}

void make_launch_paths_absolute(AttemptLaunch* launch) {
  for (std::string* path : {&launch->worker_path, &launch->plugin_path, &launch->plugin_dir,
                            &launch->attempt_dir}) {
    *path = absolute_path(*path);
  }
  for (auto& [name, path] : launch->inputs) path = absolute_path(path);
}

}  // namespace radflow
