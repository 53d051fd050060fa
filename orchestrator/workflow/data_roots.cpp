#include "orchestrator/workflow/data_roots.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "orchestrator/workflow/json_schema.h"

namespace radflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool is_inside(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          path[root.size()] == '/');
}

// "${params.NAME}" -> NAME, else "".
std::string run_param_name(const json& raw) {
  static const std::string kPrefix = "${params.";
  if (!raw.is_string()) return "";
  const auto& text = raw.get_ref<const std::string&>();
  if (text.size() <= kPrefix.size() + 1 || text.compare(0, kPrefix.size(), kPrefix) != 0 ||
      text.back() != '}') {
    return "";
  }
  return text.substr(kPrefix.size(), text.size() - kPrefix.size() - 1);
}

bool already_reported(const std::vector<Error>& errors, const std::string& pointer) {
  return std::any_of(errors.begin(), errors.end(), [&](const Error& e) {
    return e.path == pointer && (e.code == "path_relative" || e.code == "path_outside_data_roots");
  });
}

struct Walk {
  const DataRoots& roots;
  std::vector<Error>* errors;

  // `used_by` is the step param's pointer when `pointer` is a run param's.
  void visit(const json& value, const json* raw, const json& schema, std::string pointer,
             std::string used_by) {
    if (!schema.is_object()) return;
    if (raw != nullptr) {
      const std::string name = run_param_name(*raw);
      // Substituted: the value is the run param's, so the error belongs there.
      if (!name.empty() && value != *raw) {
        used_by = pointer;
        pointer = json_pointer_append("/params", name);
        raw = nullptr;
      }
    }
    auto format = schema.find("format");
    if (format != schema.end() && *format == "path" && value.is_string()) {
      check(value.get_ref<const std::string&>(), pointer, used_by);
      return;
    }
    if (value.is_object()) {
      static const json kNone = json::object();
      auto props = schema.find("properties");
      const json& properties = props != schema.end() && props->is_object() ? *props : kNone;
      auto additional = schema.find("additionalProperties");
      for (const auto& [key, child] : value.items()) {
        auto prop = properties.find(key);
        const json* sub = prop != properties.end() ? &*prop
                          : additional != schema.end() ? &*additional
                                                       : nullptr;
        if (sub == nullptr) continue;
        const json* raw_child = nullptr;
        if (raw != nullptr && raw->is_object()) {
          auto it = raw->find(key);
          if (it != raw->end()) raw_child = &*it;
        }
        visit(child, raw_child, *sub, json_pointer_append(pointer, key),
              used_by.empty() ? "" : json_pointer_append(used_by, key));
      }
    } else if (value.is_array()) {
      auto items = schema.find("items");
      if (items == schema.end()) return;
      for (size_t i = 0; i < value.size(); ++i) {
        const json* raw_item =
            raw != nullptr && raw->is_array() && i < raw->size() ? &(*raw)[i] : nullptr;
        const std::string index = std::to_string(i);
        visit(value[i], raw_item, *items, json_pointer_append(pointer, index),
              used_by.empty() ? "" : json_pointer_append(used_by, index));
      }
    }
  }

  void check(const std::string& path, const std::string& pointer, const std::string& used_by) {
    std::string what = json_pointer_display(pointer);
    if (!used_by.empty()) what += " (used by " + json_pointer_display(used_by) + ")";
    Result<std::string> resolved = roots.check(path, what);
    if (resolved.ok() || already_reported(*errors, pointer)) return;
    errors->push_back(Error{resolved.status().code(), resolved.status().message(), pointer});
  }
};

}  // namespace

std::string resolve_path(const std::string& path) {
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(fs::path(path), ec);
  if (ec) return "";
  std::string text = resolved.lexically_normal().string();
  // weakly_canonical keeps a trailing separator ("/data/" stays so).
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

DataRoots::DataRoots(const std::vector<std::string>& roots) {
  for (const auto& root : roots) {
    std::string resolved = resolve_path(root);
    if (resolved.empty()) resolved = fs::path(root).lexically_normal().string();
    if (std::find(roots_.begin(), roots_.end(), resolved) == roots_.end()) {
      roots_.push_back(resolved);
    }
  }
}

std::string DataRoots::describe() const {
  std::string text;
  for (const auto& root : roots_) text += (text.empty() ? "" : ", ") + root;
  return text.empty() ? "none" : text;
}

Result<std::string> DataRoots::check(const std::string& path, const std::string& what) const {
  const std::string quoted = describe_json_value(json(path));
  const std::string fix = "; the data roots are: " + describe() +
                          " (start radflowd with --data-root DIR to add one)";
  if (path.empty() || path.front() != '/') {
    return Status::error("path_relative",
                         what + " must be an absolute path inside a data root, got " + quoted +
                             " (relative paths are not resolved against anything)" + fix);
  }
  if (path.find('\0') != std::string::npos) {
    return Status::error("path_outside_data_roots",
                         what + " holds a NUL character, got " + quoted + fix);
  }
  const std::string resolved = resolve_path(path);
  if (resolved.empty()) {
    return Status::error("path_outside_data_roots",
                         what + " " + quoted + " cannot be resolved" + fix);
  }
  for (const auto& root : roots_) {
    if (is_inside(resolved, root)) return resolved;
  }
  return Status::error("path_outside_data_roots",
                       what + " " + quoted + " resolves to " + resolved +
                           ", which is outside every data root" + fix);
}

void check_path_params(const json& params, const json* raw_params, const json& schema,
                       const std::string& pointer, const DataRoots& roots,
                       std::vector<Error>* errors) {
  Walk{roots, errors}.visit(params, raw_params, schema, pointer, "");
}

}  // namespace radflow
