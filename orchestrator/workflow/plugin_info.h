// PluginInfo: what the daemon knows about one plugin, learned from
// `radflow-worker --describe` (never by dlopen in the daemon). Plain data.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace radflow {

struct PortInfo {
  std::string name;
  std::string description;
  bool optional = false;  // inputs only: the step may leave it unbound
};

struct PluginInfo {
  std::string name;
  std::string version;
  std::string description;
  nlohmann::json params_schema = nlohmann::json::object();  // JSON Schema of params
  std::vector<PortInfo> inputs;
  std::vector<PortInfo> outputs;
  std::string path;    // absolute path of the shared library
  std::string sha256;  // of the library file; the descriptor cache key

  const PortInfo* find_input(const std::string& port) const {
    for (const auto& p : inputs) if (p.name == port) return &p;
    return nullptr;
  }
  const PortInfo* find_output(const std::string& port) const {
    for (const auto& p : outputs) if (p.name == port) return &p;
    return nullptr;
  }
};

// The descriptor JSON printed by `radflow-worker --describe` and served by
// GET /api/v1/plugins: {"name","version","description","params_schema",
// "inputs":[{"name","description","optional"}],"outputs":[...],"path","sha256"}.
nlohmann::json to_json(const PluginInfo& info);
// Parses that JSON; malformed input yields an error naming the field.
// (Declared here, defined in plugin_info.cpp.)
bool from_json(const nlohmann::json& json, PluginInfo* info, std::string* error);

}  // namespace radflow
