// PluginDescriptor: the parsed, owned copy of a plugin's rf_plugin descriptor (its
// JSON strings turned into JSON values), and the descriptor JSON that
// `radflow-worker --describe` prints. Plain data; safe to copy and to share
// read-only between threads.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "radflow/plugin.h"

namespace radflow {

struct PluginPort {
  std::string name;
  std::string description;
  bool optional = false;
};

struct PluginDescriptor {
  std::string name;
  std::string version;
  std::string description;
  nlohmann::json params_schema = nlohmann::json::object();
  std::vector<PluginPort> inputs;
  std::vector<PluginPort> outputs;
  uint32_t abi_version = 0;

  const PluginPort* find_input(const std::string& port) const;
  const PluginPort* find_output(const std::string& port) const;
};

// Copies and parses a descriptor that load_plugin accepted. Null description,
// schema, inputs or outputs read as empty. Malformed JSON, a schema that is not an
// object, or a port without a string "name" fail with "invalid_descriptor", naming
// `plugin_file` and the field.
Result<PluginDescriptor> parse_descriptor(const rf_plugin& plugin, const std::string& plugin_file);

// {"name","version","description","params_schema","inputs":[{"name","description",
// "optional"}],"outputs":[...],"abi_version"}.
nlohmann::json descriptor_to_json(const PluginDescriptor& descriptor);

}  // namespace radflow
