// The harness behind radflow/plugin_testing.hpp. It reuses the worker's descriptor
// parser and the daemon's JSON Schema validator (compiled into this library, see
// plugins/sdk/CMakeLists.txt), so a plugin that passes here passes the same checks
// under radflowd.
#include "radflow/plugin_testing.hpp"

#include <stdlib.h>

#include <filesystem>
#include <limits>
#include <mutex>

#include "orchestrator/worker/plugin_descriptor.h"
#include "orchestrator/workflow/json_schema.h"

namespace radflow::testing {
namespace {

namespace fs = std::filesystem;

// The rf_host table of one run and what the plugin reported through it.
class TestHost {
 public:
  TestHost(const PluginDescriptor& descriptor, const PluginRun& run, PluginResult* result)
      : descriptor_(descriptor), result_(result), cancelled_(run.cancelled) {
    params_json_ = result->params.dump();
    nlohmann::json inputs = nlohmann::json::object();
    for (const auto& [name, path] : run.inputs) inputs[name] = fs::absolute(path).string();
    inputs_json_ = inputs.dump();
    device_ = run.device;
    table_.version = RF_HOST_VERSION;
    table_.struct_size = sizeof(rf_host);
    table_.ctx = this;
    table_.params_json = params_json_.c_str();
    table_.inputs_json = inputs_json_.c_str();
    table_.output_dir = result->output_dir.c_str();
    table_.rank = run.rank;
    table_.world_size = run.world_size;
    table_.local_rank = run.rank;
    table_.device = device_.c_str();
    table_.log = [](void* ctx, int32_t level, const char* message) {
      self(ctx)->add_log(level, message ? message : "");
    };
    table_.metric = [](void* ctx, const char* name, int64_t iteration, double value) {
      TestHost* host = self(ctx);
      if (name == nullptr || *name == '\0') {
        host->add_log(RF_LOG_ERROR, "metric() called without a name; dropped");
        return;
      }
      std::lock_guard<std::mutex> lock(host->mutex_);
      host->result_->metrics.push_back({name, iteration, value});
    };
    table_.progress = [](void* ctx, double fraction, const char* message) {
      TestHost* host = self(ctx);
      std::lock_guard<std::mutex> lock(host->mutex_);
      host->result_->progress.push_back({fraction, message ? message : ""});
    };
    table_.register_output = [](void* ctx, const char* name, const char* path) -> int32_t {
      return self(ctx)->register_output(name ? name : "", path ? path : "");
    };
    table_.is_cancelled = [](void* ctx) -> int32_t { return self(ctx)->cancelled_ ? 1 : 0; };
    table_.fail = [](void* ctx, const char* message) {
      TestHost* host = self(ctx);
      std::lock_guard<std::mutex> lock(host->mutex_);
      host->failure_ = message ? message : "";
    };
  }

  const rf_host* table() const { return &table_; }
  std::string failure() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failure_;
  }

 private:
  static TestHost* self(void* ctx) { return static_cast<TestHost*>(ctx); }

  void add_log(int32_t level, std::string message) {
    std::lock_guard<std::mutex> lock(mutex_);
    result_->logs.push_back({level, std::move(message)});
  }

  // The worker's rules (attempt_host.cpp): a declared output, a path that exists;
  // relative paths are under output_dir.
  int32_t register_output(const std::string& name, const std::string& path) {
    if (descriptor_.find_output(name) == nullptr) {
      add_log(RF_LOG_ERROR, "register_output: '" + name + "' is not a declared output of " +
                                descriptor_.name);
      return -1;
    }
    if (path.empty()) {
      add_log(RF_LOG_ERROR, "register_output('" + name + "'): empty path");
      return -1;
    }
    fs::path full(path);
    if (full.is_relative()) full = fs::path(result_->output_dir) / full;
    std::error_code ec;
    if (!fs::exists(full, ec)) {
      add_log(RF_LOG_ERROR, "register_output('" + name + "'): " + full.string() + " does not exist");
      return -1;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    result_->outputs[name] = full.lexically_normal().string();
    return 0;
  }

  const PluginDescriptor& descriptor_;
  PluginResult* result_;
  const bool cancelled_;
  std::string params_json_, inputs_json_, device_;
  rf_host table_{};
  mutable std::mutex mutex_;
  std::string failure_;
};

void finish(PluginResult* result, const char* status, std::string reason, std::string message) {
  result->status = status;
  result->reason = std::move(reason);
  result->message = std::move(message);
}

// The daemon's validation of a step's params (parse_params in
// orchestrator/workflow/step_parser.cpp): the schema, then its defaults filled in.
bool check_params(const PluginDescriptor& descriptor, const PluginRun& run, PluginResult* result) {
  if (!run.params.is_object()) {
    result->param_errors.push_back("invalid_workflow at /params: params must be an object");
  } else {
    std::vector<Error> errors;
    validate_against_schema(run.params, descriptor.params_schema, "/params", &errors);
    for (const Error& e : errors) {
      result->param_errors.push_back(e.code + " at " + e.path + ": " + e.message);
    }
    result->params = run.params;
    fill_defaults(&result->params, descriptor.params_schema);
  }
  if (result->param_errors.empty()) return true;
  std::string message;
  for (const std::string& e : result->param_errors) message += (message.empty() ? "" : "; ") + e;
  finish(result, "failed", "invalid_params", message);
  return false;
}

// The worker's input check (attempt_runner.cpp).
bool check_inputs(const PluginDescriptor& descriptor, const PluginRun& run, PluginResult* result) {
  for (const auto& [name, path] : run.inputs) {
    if (descriptor.find_input(name) == nullptr) {
      finish(result, "failed", "invalid_spec",
             "input '" + name + "' is not declared by plugin " + descriptor.name);
      return false;
    }
  }
  for (const PluginPort& port : descriptor.inputs) {
    if (!port.optional && run.inputs.count(port.name) == 0) {
      finish(result, "failed", "invalid_spec",
             "required input '" + port.name + "' of plugin " + descriptor.name + " is not bound");
      return false;
    }
  }
  return true;
}

bool make_output_dir(const PluginRun& run, PluginResult* result) {
  std::error_code ec;
  if (run.output_dir.empty()) {
    std::string pattern = (fs::temp_directory_path(ec) / "radflow-plugin-test-XXXXXX").string();
    if (ec || ::mkdtemp(pattern.data()) == nullptr) {
      finish(result, "failed", "invalid_spec", "cannot create a temp output folder");
      return false;
    }
    result->output_dir = pattern;
    result->made_output_dir = true;
    return true;
  }
  result->output_dir = fs::absolute(run.output_dir).string();
  fs::create_directories(result->output_dir, ec);
  if (ec) {
    finish(result, "failed", "invalid_spec",
           "cannot create output_dir " + result->output_dir + ": " + ec.message());
    return false;
  }
  return true;
}

}  // namespace

PluginResult run_plugin(const rf_plugin& plugin, const PluginRun& run) {
  PluginResult result;
  const std::string name = plugin.name ? plugin.name : "(unnamed plugin)";
  if (plugin.run == nullptr) {
    finish(&result, "failed", "invalid_descriptor", "plugin " + name + " has no run function");
    return result;
  }
  Result<PluginDescriptor> descriptor = parse_descriptor(plugin, name);
  if (!descriptor.ok()) {
    finish(&result, "failed", "invalid_descriptor", descriptor.status().message());
    return result;
  }
  if (!check_params(*descriptor, run, &result) || !check_inputs(*descriptor, run, &result) ||
      !make_output_dir(run, &result)) {
    return result;
  }

  TestHost host(*descriptor, run, &result);
  result.run_code = plugin.run(host.table());
  const std::string failure = host.failure();
  switch (result.run_code) {
    case RF_RUN_OK:
      break;
    case RF_RUN_CANCELLED:
      finish(&result, "cancelled", "cancelled", failure);
      return result;
    case RF_RUN_EXCEPTION:
      finish(&result, "failed", "plugin_exception", failure);
      return result;
    default:
      finish(&result, "failed", "plugin_failed",
             failure.empty() ? "plugin returned failure without a message" : failure);
      return result;
  }
  std::string missing;
  for (const PluginPort& port : descriptor->outputs) {
    if (port.optional || result.outputs.count(port.name) != 0 || run.rank != 0) continue;
    missing += (missing.empty() ? "" : ", ") + port.name;
  }
  if (!missing.empty()) {
    finish(&result, "failed", "missing_outputs", "plugin " + name + " did not register: " + missing);
    return result;
  }
  finish(&result, "succeeded", "ok", "");
  return result;
}

std::vector<double> PluginResult::metric(const std::string& name) const {
  std::vector<double> values;
  for (const MetricPoint& point : metrics) {
    if (point.name == name) values.push_back(point.value);
  }
  return values;
}

double PluginResult::last_metric(const std::string& name) const {
  const std::vector<double> values = metric(name);
  return values.empty() ? std::numeric_limits<double>::quiet_NaN() : values.back();
}

bool PluginResult::logged(const std::string& text) const {
  for (const LogLine& line : logs) {
    if (line.message.find(text) != std::string::npos) return true;
  }
  return false;
}

void PluginResult::remove_output_dir() const {
  if (!made_output_dir || output_dir.empty()) return;
  std::error_code ec;
  fs::remove_all(output_dir, ec);
}

}  // namespace radflow::testing
