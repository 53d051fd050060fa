// PluginFixture: a temp folder per test suite holding a tiny synth-cxr dataset and a
// random tiny ViT encoder (HF layout), plus running a plugin through radflow-worker
// and the in-process reference forward the plugins' outputs are compared with.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugins/ml/torch/vit.h"

namespace radflow::ml::test {

class PluginFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

  // Runs one attempt of `plugin` in a fresh folder; returns its events (end last).
  static std::vector<nlohmann::json> run(const std::string& plugin, const nlohmann::json& params,
                                         const nlohmann::json& inputs);
  static std::string output_of(const std::vector<nlohmann::json>& events, const std::string& name);
  static std::string message_of(const std::vector<nlohmann::json>& events);

  // The tiny encoder's forward of `paths`, preprocessed as the plugins do.
  static ViTOutput reference_forward(const std::vector<std::string>& paths,
                                     const std::vector<int64_t>& layers = {});

  static std::string dir_;      // the suite's temp folder
  static std::string dataset_;  // synth-cxr's dataset folder (manifest.csv, images/)
  static std::string encoder_;  // folder with model.safetensors + config.json
};

}  // namespace radflow::ml::test
