// The plugin map the workflow and API fuzzers validate against: the workflow tests'
// toy pipeline (data -> train -> eval, tests/workflow/test_plugins.h) plus snapshots of
// the shipped plugins' descriptors (plugins/*.json, from `radflow-worker --describe`),
// so that the real workflows in workflows/ validate and their params meet real schemas.
// Read once; aborts when a snapshot does not parse (a broken fuzzer, not a finding).
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "orchestrator/workflow/plugin_info.h"
#include "tests/fuzz/fuzz_input_file.h"
#include "tests/workflow/test_plugins.h"

namespace radflow::fuzz {

// Descriptor JSON texts of the shipped plugins, by plugin name.
inline std::map<std::string, std::string> shipped_descriptors() {
  std::map<std::string, std::string> texts;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(RADFLOW_FUZZ_PLUGINS_DIR)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    PluginInfo info;
    std::string error;
    if (!from_json(nlohmann::json::parse(text, nullptr, false), &info, &error)) {
      fail(file.string() + ": " + error);
    }
    texts[info.name] = text;
  }
  if (texts.empty()) fail(std::string("no descriptors in ") + RADFLOW_FUZZ_PLUGINS_DIR);
  return texts;
}

inline std::map<std::string, PluginInfo> fuzz_plugins() {
  std::map<std::string, PluginInfo> plugins = radflow::testing::test_plugins();
  for (const auto& [name, text] : shipped_descriptors()) {
    PluginInfo info;
    std::string error;
    from_json(nlohmann::json::parse(text), &info, &error);
    plugins[name] = info;
  }
  return plugins;
}

}  // namespace radflow::fuzz
