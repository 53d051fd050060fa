// Hand-built plugin descriptors shared by the workflow tests (validate_test.cpp
// and the data-driven cases in cases/): a tiny pipeline data -> train -> eval.
#pragma once

#include <map>
#include <string>

#include "orchestrator/workflow/plugin_info.h"
#include "orchestrator/workflow/workflow.h"

namespace radflow::testing {

inline std::map<std::string, PluginInfo> test_plugins() {
  std::map<std::string, PluginInfo> plugins;
  PluginInfo data;
  data.name = "data";
  data.version = "1.0.0";
  data.params_schema = nlohmann::json::parse(R"({
    "type": "object",
    "properties": {
      "count": {"type": "integer", "minimum": 1, "default": 100},
      "seed": {"type": "integer", "default": 0},
      "kind": {"type": "string", "enum": ["cxr", "ct"], "default": "cxr"}
    },
    "additionalProperties": false
  })");
  data.outputs = {{"dataset", "images and labels", false}};
  plugins[data.name] = data;

  PluginInfo train;
  train.name = "train";
  train.version = "2.1.0";
  train.params_schema = nlohmann::json::parse(R"({
    "type": "object",
    "properties": {
      "lr": {"type": "number", "exclusiveMinimum": 0, "default": 0.001},
      "epochs": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
      "arch": {"type": "string", "pattern": "^vit-[a-z]+$"},
      "augment": {"type": "object",
                  "properties": {"flip": {"type": "boolean", "default": true}},
                  "default": {}}
    },
    "required": ["arch"],
    "additionalProperties": false
  })");
  train.inputs = {{"dataset", "training images", false}, {"init", "starting weights", true}};
  train.outputs = {{"checkpoint", "encoder weights", false}, {"curves", "loss curves", false}};
  plugins[train.name] = train;

  PluginInfo eval;
  eval.name = "eval";
  eval.version = "0.3.0";
  eval.params_schema = nlohmann::json::parse(R"({"type": "object"})");
  eval.inputs = {{"encoder", "weights to judge", false}, {"dataset", "test set", false}};
  eval.outputs = {{"report", "metrics", false}};
  plugins[eval.name] = eval;
  return plugins;
}

inline Capacity test_capacity() {
  Capacity capacity;
  capacity.gpus = 2;
  capacity.cpus = 16;
  capacity.memory_gb = 64;
  return capacity;
}

}  // namespace radflow::testing
