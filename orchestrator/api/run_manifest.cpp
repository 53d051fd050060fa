#include "orchestrator/api/run_manifest.h"

#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

#include "common/sha256.h"

extern char** environ;

namespace radflow {
namespace {

using nlohmann::json;

// The prefixes of child_env.cpp's allowlist that change how numbers come out
// (thread counts, BLAS and cuBLAS choices); locale and paths do not.
constexpr const char* kNumericsPrefixes[] = {"OMP_", "MKL_", "OPENBLAS_", "GOMP_",
                                             "CUBLAS_", "CUDA_", "NCCL_"};

json seeds_of(const json& params) {
  json seeds = json::object();
  for (const auto& [name, value] : params.items()) {
    if (name.find("seed") != std::string::npos) seeds[name] = value;
  }
  return seeds;
}

json step_record(const StepSpec& spec) {
  json inputs = json::array();
  for (const auto& in : spec.inputs) {
    inputs.push_back({{"input", in.input}, {"step", in.step}, {"output", in.output}});
  }
  const Resources& r = spec.resources;
  // What the scheduler hands the worker as RADFLOW_CPUS (scheduler_attempts.cpp).
  const int threads = static_cast<int>(std::ceil(charged_cpus(r)));
  const auto precision = spec.params.find("precision");
  return {{"name", spec.name},
          {"plugin", spec.plugin},
          {"plugin_version", spec.plugin_version},
          {"plugin_sha256", spec.plugin_sha256},
          {"params", spec.params},
          {"seeds", seeds_of(spec.params)},
          {"inputs", inputs},
          {"resources",
           {{"cpus", r.cpus}, {"gpus", r.gpus}, {"memory_gb", r.memory_gb}, {"ranks", r.ranks}}},
          {"numerics",
           {{"threads", threads},
            {"device", r.gpus > 0 ? "cuda" : "cpu"},
            {"precision", precision == spec.params.end() ? json() : *precision}}},
          {"cache", spec.cache}};
}

// A pointer into `manifest` (never into a copy of its steps).
const json* find_step(const json& manifest, const std::string& name) {
  const auto steps = manifest.find("steps");
  if (steps == manifest.end() || !steps->is_array()) return nullptr;
  for (const auto& step : *steps) {
    if (step.is_object() && step.value("name", "") == name) return &step;
  }
  return nullptr;
}

std::string text_of(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

Result<WorkerBuild> worker_build(const std::string& worker_path) {
  struct Cached {
    off_t size = -1;
    int64_t mtime_ns = 0;
    std::string sha256;
  };
  static std::mutex mu;
  static std::map<std::string, Cached> cache;
  struct stat st {};
  if (::stat(worker_path.c_str(), &st) != 0) {
    return Status::error("io_error", "cannot read the worker binary " + worker_path + ": " +
                                         std::strerror(errno));
  }
  const int64_t mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(worker_path);
    if (it != cache.end() && it->second.size == st.st_size && it->second.mtime_ns == mtime_ns) {
      return WorkerBuild{worker_path, it->second.sha256};
    }
  }
  RF_ASSIGN_OR_RETURN(std::string digest, sha256_file(worker_path));
  std::lock_guard<std::mutex> lock(mu);
  cache[worker_path] = {st.st_size, mtime_ns, digest};
  return WorkerBuild{worker_path, digest};
}

json numerics_environment() {
  std::map<std::string, std::string> found;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const size_t eq = text.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = text.substr(0, eq);
    for (const char* prefix : kNumericsPrefixes) {
      if (name.rfind(prefix, 0) == 0) found[name] = text.substr(eq + 1);
    }
  }
  return json(found);
}

json build_run_manifest(const Workflow& workflow, const std::string& workflow_text,
                        const WorkerBuild& worker, const json& environment, const json& replay_of) {
  json steps = json::array();
  for (const auto& spec : workflow.steps) steps.push_back(step_record(spec));
  return {{"schema", 1},
          {"workflow_text", workflow_text},
          {"run_params", workflow.params},
          {"worker", {{"path", worker.path}, {"sha256", worker.sha256}}},
          {"environment", environment},
          {"steps", steps},
          {"replay_of", replay_of}};
}

std::vector<Error> replay_differences(const json& recorded, const json& current) {
  std::vector<Error> out;
  for (const auto& was : recorded.value("steps", json::array())) {
    const std::string name = was.value("name", "");
    const std::string path = "/steps/" + name;
    const json* now = find_step(current, name);
    if (now == nullptr) {
      out.push_back({"step_missing", "step " + name + " is recorded but the workflow no longer "
                                         "yields it", path});
      continue;
    }
    const std::string plugin = was.value("plugin", "");
    if (was.value("plugin_sha256", "") != now->value("plugin_sha256", "")) {
      out.push_back({"plugin_changed",
                     "step " + name + ": plugin " + plugin + " changed: recorded sha256 " +
                         was.value("plugin_sha256", "") + " (version " +
                         was.value("plugin_version", "") + "), now sha256 " +
                         now->value("plugin_sha256", "") + " (version " +
                         now->value("plugin_version", "") + ")",
                     path + "/plugin_sha256"});
    }
    if (was.value("params", json::object()) != now->value("params", json::object())) {
      out.push_back({"params_changed",
                     "step " + name + ": params resolve differently: recorded " +
                         was.value("params", json::object()).dump() + ", now " +
                         now->value("params", json::object()).dump(),
                     path + "/params"});
    }
    if (was.value("numerics", json::object()) != now->value("numerics", json::object())) {
      out.push_back({"numerics_changed",
                     "step " + name + ": threads, device or precision differ: recorded " +
                         was.value("numerics", json::object()).dump() + ", now " +
                         now->value("numerics", json::object()).dump(),
                     path + "/numerics"});
    }
  }
  const std::string worker_was = recorded.value("worker", json::object()).value("sha256", "");
  const std::string worker_now = current.value("worker", json::object()).value("sha256", "");
  if (worker_was != worker_now) {
    out.push_back({"worker_changed",
                   "radflow-worker changed: recorded sha256 " + worker_was + ", now sha256 " +
                       worker_now,
                   "/worker/sha256"});
  }
  const json env_was = recorded.value("environment", json::object());
  const json env_now = current.value("environment", json::object());
  std::map<std::string, std::pair<json, json>> env;
  for (const auto& [k, v] : env_was.items()) env[k].first = v;
  for (const auto& [k, v] : env_now.items()) env[k].second = v;
  for (const auto& [k, both] : env) {
    if (both.first == both.second) continue;
    out.push_back({"environment_changed",
                   "radflowd's " + k + " differs: recorded " +
                       (both.first.is_null() ? "unset" : text_of(both.first)) + ", now " +
                       (both.second.is_null() ? "unset" : text_of(both.second)),
                   "/environment/" + k});
  }
  return out;
}

}  // namespace radflow
