#include "orchestrator/workflow/plugin_info.h"

namespace radflow {
namespace {

using nlohmann::json;

json ports_to_json(const std::vector<PortInfo>& ports) {
  json out = json::array();
  for (const auto& p : ports) {
    out.push_back({{"name", p.name}, {"description", p.description}, {"optional", p.optional}});
  }
  return out;
}

// Reads an optional string field; false (with `error` set) when present but not a string.
bool read_string(const json& object, const char* key, const std::string& where, bool required,
                 std::string* out, std::string* error) {
  auto it = object.find(key);
  if (it == object.end()) {
    if (!required) return true;
    *error = where + key + " is missing";
    return false;
  }
  if (!it->is_string()) {
    *error = where + key + " must be a string, got " + std::string(it->type_name());
    return false;
  }
  *out = it->get<std::string>();
  if (required && out->empty()) {
    *error = where + key + " must not be empty";
    return false;
  }
  return true;
}

bool read_ports(const json& object, const char* key, std::vector<PortInfo>* out,
                std::string* error) {
  out->clear();
  auto it = object.find(key);
  if (it == object.end()) return true;
  if (!it->is_array()) {
    *error = std::string(key) + " must be an array, got " + it->type_name();
    return false;
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const json& port = (*it)[i];
    std::string where = std::string(key) + "[" + std::to_string(i) + "].";
    if (!port.is_object()) {
      *error = std::string(key) + "[" + std::to_string(i) + "] must be an object, got " +
               port.type_name();
      return false;
    }
    PortInfo info;
    if (!read_string(port, "name", where, true, &info.name, error)) return false;
    if (!read_string(port, "description", where, false, &info.description, error)) return false;
    auto optional = port.find("optional");
    if (optional != port.end()) {
      if (!optional->is_boolean()) {
        *error = where + "optional must be a boolean, got " + optional->type_name();
        return false;
      }
      info.optional = optional->get<bool>();
    }
    for (const auto& seen : *out) {
      if (seen.name == info.name) {
        *error = where + "name \"" + info.name + "\" is declared twice";
        return false;
      }
    }
    out->push_back(std::move(info));
  }
  return true;
}

}  // namespace

json to_json(const PluginInfo& info) {
  return json{{"name", info.name},
              {"version", info.version},
              {"description", info.description},
              {"params_schema", info.params_schema},
              {"inputs", ports_to_json(info.inputs)},
              {"outputs", ports_to_json(info.outputs)},
              {"path", info.path},
              {"sha256", info.sha256}};
}

bool from_json(const json& descriptor, PluginInfo* info, std::string* error) {
  if (!descriptor.is_object()) {
    *error = std::string("plugin descriptor must be an object, got ") + descriptor.type_name();
    return false;
  }
  PluginInfo out;
  if (!read_string(descriptor, "name", "", true, &out.name, error)) return false;
  if (!read_string(descriptor, "version", "", true, &out.version, error)) return false;
  if (!read_string(descriptor, "description", "", false, &out.description, error)) return false;
  if (!read_string(descriptor, "path", "", false, &out.path, error)) return false;
  if (!read_string(descriptor, "sha256", "", false, &out.sha256, error)) return false;
  auto schema = descriptor.find("params_schema");
  if (schema != descriptor.end()) {
    if (!schema->is_object()) {
      *error = std::string("params_schema must be an object, got ") + schema->type_name();
      return false;
    }
    out.params_schema = *schema;
  }
  if (!read_ports(descriptor, "inputs", &out.inputs, error)) return false;
  if (!read_ports(descriptor, "outputs", &out.outputs, error)) return false;
  *info = std::move(out);
  return true;
}

}  // namespace radflow
