#include "orchestrator/worker/plugin_descriptor.h"

namespace radflow {
namespace {

Status invalid(const std::string& plugin_file, const std::string& field, const std::string& why) {
  return Status::error("invalid_descriptor", "plugin " + plugin_file + ": " + field + " " + why,
                       "/" + field);
}

Result<nlohmann::json> parse_field(const char* text, const char* fallback,
                                   const std::string& plugin_file, const std::string& field) {
  nlohmann::json parsed =
      nlohmann::json::parse(text ? text : fallback, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return invalid(plugin_file, field, "is not valid JSON");
  return parsed;
}

Result<std::vector<PluginPort>> parse_ports(const char* text, const std::string& plugin_file,
                                            const std::string& field) {
  RF_ASSIGN_OR_RETURN(nlohmann::json json, parse_field(text, "[]", plugin_file, field));
  if (!json.is_array()) return invalid(plugin_file, field, "must be a JSON array");
  std::vector<PluginPort> ports;
  for (size_t i = 0; i < json.size(); ++i) {
    const nlohmann::json& item = json[i];
    const std::string where = field + "[" + std::to_string(i) + "]";
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string() ||
        item["name"].get<std::string>().empty()) {
      return invalid(plugin_file, where, "must be an object with a non-empty string \"name\"");
    }
    PluginPort port;
    port.name = item["name"].get<std::string>();
    if (item.contains("description")) {
      if (!item["description"].is_string()) {
        return invalid(plugin_file, where + ".description", "must be a string");
      }
      port.description = item["description"].get<std::string>();
    }
    if (item.contains("optional")) {
      if (!item["optional"].is_boolean()) {
        return invalid(plugin_file, where + ".optional", "must be a boolean");
      }
      port.optional = item["optional"].get<bool>();
    }
    for (const PluginPort& other : ports) {
      if (other.name == port.name) return invalid(plugin_file, where, "repeats \"" + port.name + "\"");
    }
    ports.push_back(std::move(port));
  }
  return ports;
}

nlohmann::json ports_to_json(const std::vector<PluginPort>& ports) {
  nlohmann::json out = nlohmann::json::array();
  for (const PluginPort& port : ports) {
    out.push_back({{"name", port.name}, {"description", port.description}, {"optional", port.optional}});
  }
  return out;
}

const PluginPort* find_port(const std::vector<PluginPort>& ports, const std::string& name) {
  for (const PluginPort& port : ports) {
    if (port.name == name) return &port;
  }
  return nullptr;
}

}  // namespace

const PluginPort* PluginDescriptor::find_input(const std::string& port) const {
  return find_port(inputs, port);
}

const PluginPort* PluginDescriptor::find_output(const std::string& port) const {
  return find_port(outputs, port);
}

Result<PluginDescriptor> parse_descriptor(const rf_plugin& plugin, const std::string& plugin_file) {
  PluginDescriptor d;
  d.name = plugin.name ? plugin.name : "";
  d.version = plugin.version ? plugin.version : "";
  d.description = plugin.description ? plugin.description : "";
  d.abi_version = plugin.abi_version;
  RF_ASSIGN_OR_RETURN(d.params_schema,
                      parse_field(plugin.params_schema_json, "{}", plugin_file, "params_schema_json"));
  if (!d.params_schema.is_object()) {
    return invalid(plugin_file, "params_schema_json", "must be a JSON object");
  }
  RF_ASSIGN_OR_RETURN(d.inputs, parse_ports(plugin.inputs_json, plugin_file, "inputs_json"));
  RF_ASSIGN_OR_RETURN(d.outputs, parse_ports(plugin.outputs_json, plugin_file, "outputs_json"));
  return d;
}

nlohmann::json descriptor_to_json(const PluginDescriptor& d) {
  return {{"name", d.name},
          {"version", d.version},
          {"description", d.description},
          {"params_schema", d.params_schema},
          {"inputs", ports_to_json(d.inputs)},
          {"outputs", ports_to_json(d.outputs)},
          {"abi_version", d.abi_version}};
}

}  // namespace radflow
