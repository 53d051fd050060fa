// radflow C++ plugin helper: a thin, header-only C++17 layer over radflow/plugin.h.
//
// A plugin is one .cpp file:
//
//   #include "radflow/plugin.hpp"
//
//   static int run(radflow::sdk::Context& ctx) {
//     int n = ctx.param<int>("n", 10);
//     ctx.log_info("counting to " + std::to_string(n));
//     std::string out = ctx.output_path("result.json");
//     ...                                   // write the file
//     ctx.register_output("result", out);
//     return ctx.cancelled() ? RF_RUN_CANCELLED : RF_RUN_OK;
//   }
//
//   RADFLOW_PLUGIN("my-plugin", "1.0.0", "What it does.",
//                  R"({"type":"object","properties":{"n":{"type":"integer"}}})",
//                  R"([{"name":"numbers","description":"a CSV file"}])",
//                  R"([{"name":"result","description":"a JSON file"}])",
//                  run)
//
// RADFLOW_PLUGIN defines the one exported entry symbol and a run() trampoline that
// catches every exception: std::exception -> host->fail(what()) and RF_RUN_EXCEPTION,
// anything else -> "unknown exception". Nothing unwinds across the C boundary.
//
// Ownership: Context borrows the rf_host table; it lives on the trampoline's stack for
// the duration of run() and must not be kept past it. Thread-safety: the logging,
// metric, progress, register_output and cancelled() calls may be made from any
// thread concurrently (the host serialises them); params()/inputs() are parsed once
// at construction and are read-only afterwards.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "radflow/plugin.h"

namespace radflow::sdk {

// Thrown by Context::param when a param is missing or has the wrong type. The
// trampoline turns it into RF_RUN_EXCEPTION with what() as the failure message.
class ParamError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

// True when the host table is large enough to hold `member` (the host may be older
// than this header) and the pointer there is set.
#define RADFLOW_SDK_HOST_HAS(host, member)                                  \
  ((host) != nullptr &&                                                     \
   (host)->struct_size >= offsetof(rf_host, member) + sizeof((host)->member) && \
   (host)->member != nullptr)

inline void report_failure(const rf_host* host, const char* message) noexcept {
  if (RADFLOW_SDK_HOST_HAS(host, fail)) host->fail(host->ctx, message);
}

// JSON type names for error messages, in JSON Schema words.
template <typename T>
const char* json_type_name() {
  if constexpr (std::is_same_v<T, bool>) return "boolean";
  else if constexpr (std::is_integral_v<T>) return "integer";
  else if constexpr (std::is_floating_point_v<T>) return "number";
  else if constexpr (std::is_convertible_v<std::string, T>) return "string";
  else return "the requested type";
}

// Strict checks: nlohmann would silently turn 1.5 into 1 or true into 1.
template <typename T>
bool json_has_type(const nlohmann::json& value) {
  if constexpr (std::is_same_v<T, bool>) return value.is_boolean();
  else if constexpr (std::is_integral_v<T>) return value.is_number_integer();
  else if constexpr (std::is_floating_point_v<T>) return value.is_number();
  else if constexpr (std::is_same_v<T, std::string>) return value.is_string();
  else return true;  // json, vectors, maps: nlohmann's get<T> decides
}

// Whether a JSON integer is representable as T, so that 2^40 never becomes an int
// silently.
template <typename T>
bool json_integer_fits(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    return value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  }
  const int64_t v = value.get<int64_t>();
  if constexpr (std::is_unsigned_v<T>) {
    return v >= 0 && static_cast<uint64_t>(v) <= static_cast<uint64_t>(std::numeric_limits<T>::max());
  } else {
    return v >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
           v <= static_cast<int64_t>(std::numeric_limits<T>::max());
  }
}

inline nlohmann::json parse_host_json(const char* text, const char* what) {
  if (text == nullptr || *text == '\0') return nlohmann::json::object();
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    throw std::runtime_error(std::string("radflow host passed an invalid ") + what +
                             " (not a JSON object)");
  }
  return parsed;
}

}  // namespace detail

class Context {
 public:
  // Throws std::runtime_error if the host table is older than ABI v1 or its JSON is
  // malformed; the trampoline reports that as the failure.
  explicit Context(const rf_host* host) : host_(host) {
    if (host_ == nullptr) throw std::runtime_error("radflow host table is null");
    if (!RADFLOW_SDK_HOST_HAS(host_, fail)) {
      throw std::runtime_error("radflow host table is older than host ABI v1 (struct_size " +
                               std::to_string(host_->struct_size) + ")");
    }
    params_ = detail::parse_host_json(host_->params_json, "params_json");
    inputs_ = detail::parse_host_json(host_->inputs_json, "inputs_json");
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // --- params -----------------------------------------------------------------
  const nlohmann::json& params() const { return params_; }
  bool has_param(const std::string& name) const {
    auto it = params_.find(name);
    return it != params_.end() && !it->is_null();
  }
  // The param `name` as T; throws ParamError naming the param if it is missing or
  // has the wrong JSON type (integers must be JSON integers, numbers any number).
  template <typename T>
  T param(const std::string& name) const {
    if (!has_param(name)) throw ParamError("param '" + name + "' is missing");
    return convert<T>(name, params_.at(name));
  }
  // As above, but a missing (or null) param yields `fallback`.
  template <typename T>
  T param(const std::string& name, T fallback) const {
    if (!has_param(name)) return fallback;
    return convert<T>(name, params_.at(name));
  }
  std::string param(const std::string& name, const char* fallback) const {
    return param<std::string>(name, std::string(fallback));
  }

  // --- inputs and outputs -----------------------------------------------------
  const nlohmann::json& inputs() const { return inputs_; }
  bool has_input(const std::string& name) const {
    auto it = inputs_.find(name);
    return it != inputs_.end() && it->is_string();
  }
  // Absolute path of the bound input; throws std::runtime_error if it is unbound.
  std::string input(const std::string& name) const {
    if (!has_input(name)) throw std::runtime_error("input '" + name + "' is not bound");
    return inputs_.at(name).get<std::string>();
  }
  std::string output_dir() const { return host_->output_dir ? host_->output_dir : ""; }
  // output_dir()/relative, creating its parent folders. `relative` must be relative.
  std::string output_path(const std::string& relative) const {
    std::filesystem::path rel(relative);
    if (rel.is_absolute()) {
      throw std::invalid_argument("output_path('" + relative + "') must be a relative path");
    }
    std::filesystem::path full = std::filesystem::path(output_dir()) / rel;
    if (full.has_parent_path()) std::filesystem::create_directories(full.parent_path());
    return full.string();
  }
  // Declares `path` (a file or folder; relative paths are under output_dir) as the
  // step's output `name`. Throws std::runtime_error if the host rejects it.
  void register_output(const std::string& name, const std::string& path) const {
    if (!RADFLOW_SDK_HOST_HAS(host_, register_output) ||
        host_->register_output(host_->ctx, name.c_str(), path.c_str()) != 0) {
      throw std::runtime_error("could not register output '" + name + "' at " + path +
                               " (see the log for why)");
    }
  }

  // --- reporting --------------------------------------------------------------
  void log(int32_t level, const std::string& message) const {
    if (RADFLOW_SDK_HOST_HAS(host_, log)) host_->log(host_->ctx, level, message.c_str());
  }
  void log_debug(const std::string& message) const { log(RF_LOG_DEBUG, message); }
  void log_info(const std::string& message) const { log(RF_LOG_INFO, message); }
  void log_warning(const std::string& message) const { log(RF_LOG_WARNING, message); }
  void log_error(const std::string& message) const { log(RF_LOG_ERROR, message); }
  void metric(const std::string& name, int64_t iteration, double value) const {
    if (RADFLOW_SDK_HOST_HAS(host_, metric)) host_->metric(host_->ctx, name.c_str(), iteration, value);
  }
  // A final figure with its 95% interval: `name` at iteration 0, and `name`.low and
  // `name`.high when both bounds are finite. The dashboard's step page shows such a
  // figure as a value with its interval (probe, segment and report-gen record theirs
  // so; compare records NAME.low/.high itself).
  void final_metric(const std::string& name, double value, double low, double high) const {
    metric(name, 0, value);
    if (std::isfinite(low) && std::isfinite(high)) {
      metric(name + ".low", 0, low);
      metric(name + ".high", 0, high);
    }
  }
  void progress(double fraction, const std::string& message = {}) const {
    if (RADFLOW_SDK_HOST_HAS(host_, progress)) {
      host_->progress(host_->ctx, fraction, message.empty() ? nullptr : message.c_str());
    }
  }
  // Records the failure message; return RF_RUN_FAILED after calling it.
  void fail(const std::string& message) const { detail::report_failure(host_, message.c_str()); }
  bool cancelled() const {
    return RADFLOW_SDK_HOST_HAS(host_, is_cancelled) && host_->is_cancelled(host_->ctx) != 0;
  }

  // --- placement --------------------------------------------------------------
  int rank() const { return host_->rank; }
  int world_size() const { return host_->world_size; }
  int local_rank() const { return host_->local_rank; }
  std::string device() const { return host_->device ? host_->device : "cpu"; }

  const rf_host* host() const { return host_; }

 private:
  template <typename T>
  static T convert(const std::string& name, const nlohmann::json& value) {
    if (!detail::json_has_type<T>(value)) {
      throw ParamError("param '" + name + "' must be " + detail::json_type_name<T>() +
                       ", got " + value.type_name() + " " + value.dump());
    }
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if (!detail::json_integer_fits<T>(value)) {
        throw ParamError("param '" + name + "' is out of range: " + value.dump());
      }
    }
    try {
      return value.get<T>();
    } catch (const nlohmann::json::exception& e) {
      throw ParamError("param '" + name + "' cannot be read as " + detail::json_type_name<T>() +
                       ": " + e.what());
    }
  }

  const rf_host* host_;
  nlohmann::json params_;
  nlohmann::json inputs_;
};

using RunFn = int (*)(Context&);

namespace detail {

// Calls `fn` with a Context; the only place exceptions are turned into return codes.
inline int32_t invoke_run(const rf_host* host, RunFn fn) noexcept {
  try {
    Context ctx(host);
    return static_cast<int32_t>(fn(ctx));
  } catch (const std::exception& e) {
    report_failure(host, e.what());
  } catch (...) {
    report_failure(host, "unknown exception");
  }
  return RF_RUN_EXCEPTION;
}

template <RunFn Fn>
int32_t run_trampoline(const rf_host* host) noexcept {
  return invoke_run(host, Fn);
}

}  // namespace detail
}  // namespace radflow::sdk

// Defines the plugin's exported entry point. Arguments, all string literals except
// RUN_FN: the plugin's name ([a-z0-9-], also the library's file stem), its version,
// a one-line description, the params JSON Schema (an object), and the inputs and
// outputs as JSON arrays of {"name","description"[,"optional":true]}. RUN_FN is an
// `int (radflow::sdk::Context&)` function returning one of RF_RUN_*.
#define RADFLOW_PLUGIN(NAME, VERSION, DESCRIPTION, PARAMS_SCHEMA_JSON, INPUTS_JSON,       \
                       OUTPUTS_JSON, RUN_FN)                                             \
  extern "C" RF_PLUGIN_EXPORT const rf_plugin* radflow_plugin(void) {                    \
    static const rf_plugin descriptor = {                                                \
        RF_PLUGIN_ABI_VERSION,                                                           \
        static_cast<uint32_t>(sizeof(rf_plugin)),                                        \
        NAME,                                                                            \
        VERSION,                                                                         \
        DESCRIPTION,                                                                     \
        PARAMS_SCHEMA_JSON,                                                              \
        INPUTS_JSON,                                                                     \
        OUTPUTS_JSON,                                                                    \
        &::radflow::sdk::detail::run_trampoline<RUN_FN>};                                \
    return &descriptor;                                                                  \
  }
