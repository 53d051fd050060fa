#include "orchestrator/worker/attempt_spec.h"

#include <fstream>
#include <limits>
#include <sstream>

namespace radflow {
namespace {

Status invalid(const std::string& field, const std::string& why) {
  return Status::error("invalid_spec", "attempt spec: " + field + " " + why, "/" + field);
}

Status read_string(const nlohmann::json& json, const char* field, bool required, std::string* out) {
  auto it = json.find(field);
  if (it == json.end() || it->is_null()) {
    return required ? invalid(field, "is required") : Status();
  }
  if (!it->is_string()) return invalid(field, "must be a string");
  *out = it->get<std::string>();
  if (required && out->empty()) return invalid(field, "must not be empty");
  return Status();
}

Status read_int(const nlohmann::json& json, const char* field, int* out) {
  auto it = json.find(field);
  if (it == json.end() || it->is_null()) return Status();
  if (!it->is_number_integer()) return invalid(field, "must be an integer");
  const int64_t value = it->get<int64_t>();
  if (value < 0 || value > std::numeric_limits<int>::max()) {
    return invalid(field, "must be a non-negative 32-bit integer");
  }
  *out = static_cast<int>(value);
  return Status();
}

Status read_paths(const nlohmann::json& confine, const char* field, std::vector<std::string>* out) {
  auto it = confine.find(field);
  if (it == confine.end()) return Status();
  const std::string where = std::string("confine/") + field;
  if (!it->is_array()) return invalid(where, "must be an array of paths");
  for (const auto& path : *it) {
    if (!path.is_string() || path.get_ref<const std::string&>().empty()) {
      return invalid(where, "must hold non-empty path strings");
    }
    out->push_back(path.get<std::string>());
  }
  return Status();
}

}  // namespace

Result<AttemptSpec> parse_attempt_spec(const nlohmann::json& json) {
  if (!json.is_object()) return invalid("", "must be a JSON object");
  AttemptSpec spec;
  RF_RETURN_IF_ERROR(read_string(json, "plugin_path", true, &spec.plugin_path));
  RF_RETURN_IF_ERROR(read_string(json, "plugin_dir", true, &spec.plugin_dir));
  RF_RETURN_IF_ERROR(read_string(json, "output_dir", true, &spec.output_dir));
  RF_RETURN_IF_ERROR(read_string(json, "plugin_name", false, &spec.plugin_name));
  RF_RETURN_IF_ERROR(read_string(json, "device", false, &spec.device));
  RF_RETURN_IF_ERROR(read_string(json, "result_path", false, &spec.result_path));
  if (spec.device.empty()) spec.device = "cpu";
  if (auto it = json.find("hash_outputs"); it != json.end() && !it->is_null()) {
    if (!it->is_boolean()) return invalid("hash_outputs", "must be true or false");
    spec.hash_outputs = it->get<bool>();
  }
  RF_RETURN_IF_ERROR(read_int(json, "rank", &spec.rank));
  RF_RETURN_IF_ERROR(read_int(json, "world_size", &spec.world_size));
  RF_RETURN_IF_ERROR(read_int(json, "local_rank", &spec.local_rank));
  RF_RETURN_IF_ERROR(read_int(json, "events_fd", &spec.events_fd));
  if (spec.world_size < 1) return invalid("world_size", "must be at least 1");
  if (spec.rank >= spec.world_size) return invalid("rank", "must be below world_size");

  if (auto it = json.find("params"); it != json.end() && !it->is_null()) {
    if (!it->is_object()) return invalid("params", "must be a JSON object");
    spec.params = *it;
  }
  if (auto it = json.find("inputs"); it != json.end() && !it->is_null()) {
    if (!it->is_object()) return invalid("inputs", "must be a JSON object");
    for (const auto& [name, path] : it->items()) {
      if (!path.is_string() || path.get<std::string>().empty()) {
        return invalid("inputs/" + name, "must be a non-empty path string");
      }
      spec.inputs[name] = path.get<std::string>();
    }
  }
  if (auto it = json.find("confine"); it != json.end() && !it->is_null()) {
    if (!it->is_object()) return invalid("confine", "must be a JSON object");
    Confinement confine;
    RF_RETURN_IF_ERROR(read_paths(*it, "read", &confine.read));
    RF_RETURN_IF_ERROR(read_paths(*it, "read_exec", &confine.read_exec));
    RF_RETURN_IF_ERROR(read_paths(*it, "read_write", &confine.read_write));
    spec.confine = std::move(confine);
  }
  return spec;
}

Result<AttemptSpec> read_attempt_spec(const std::string& file) {
  std::ifstream in(file);
  if (!in) return Status::error("invalid_spec", "cannot read attempt spec " + file, file);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return Status::error("invalid_spec", "attempt spec " + file + " is not valid JSON", file);
  }
  return parse_attempt_spec(json);
}

}  // namespace radflow
