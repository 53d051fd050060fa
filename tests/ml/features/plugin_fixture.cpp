#include "tests/ml/features/plugin_fixture.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "plugins/ml/eval/encoder_features.h"
#include "plugins/ml/torch/checkpoint.h"
#include "tests/worker/worker_process.h"

namespace radflow::ml::test {

namespace fs = std::filesystem;
using nlohmann::json;

std::string PluginFixture::dir_;
std::string PluginFixture::dataset_;
std::string PluginFixture::encoder_;

void PluginFixture::SetUpTestSuite() {
  std::string pattern = (fs::temp_directory_path() / "rf-features-XXXXXX").string();
  dir_ = ::mkdtemp(pattern.data());
  auto synth = run("synth-cxr", {{"seed", 5}, {"count", 7}, {"image_size", 64}}, json::object());
  ASSERT_EQ(synth.back()["status"], "succeeded") << synth.back().dump();
  dataset_ = output_of(synth, "dataset");

  torch::manual_seed(11);
  ViTConfig config = vit_tiny_test(/*depth=*/3);
  config.layerscale_init = 0.5;  // so every block visibly changes the tokens
  VisionTransformer model(config);
  encoder_ = dir_ + "/encoder";
  fs::create_directories(encoder_);
  ASSERT_TRUE(save_checkpoint(model, encoder_ + "/model.safetensors").ok());
}

void PluginFixture::TearDownTestSuite() { fs::remove_all(dir_); }

std::vector<json> PluginFixture::run(const std::string& plugin, const json& params, const json& inputs) {
  static int counter = 0;
  const std::string attempt_dir = dir_ + "/" + plugin + "-" + std::to_string(++counter);
  fs::create_directories(attempt_dir);
  json spec = {{"plugin_path", std::string(RADFLOW_PLUGIN_DIR) + "/" + plugin + ".so"},
               {"plugin_dir", RADFLOW_PLUGIN_DIR},
               {"plugin_name", plugin},
               {"params", params},
               {"inputs", inputs},
               {"output_dir", attempt_dir + "/outputs"}};
  const std::string spec_path = attempt_dir + "/spec.json";
  std::ofstream(spec_path) << spec.dump();
  radflow::test::WorkerProcess worker({"--attempt", spec_path},
                                      {{"RADFLOW_ATTEMPT_DIR", attempt_dir}, {"RADFLOW_CPUS", "2"}});
  worker.read_all();
  worker.wait();
  return worker.events();
}

std::string PluginFixture::output_of(const std::vector<json>& events, const std::string& name) {
  for (const auto& e : events) {
    if (e.value("type", "") == "output" && e.value("name", "") == name) return e["path"];
  }
  return "";
}

std::string PluginFixture::message_of(const std::vector<json>& events) {
  return events.empty() ? "" : events.back().value("message", "");
}

ViTOutput PluginFixture::reference_forward(const std::vector<std::string>& paths,
                                           const std::vector<int64_t>& layers) {
  auto model = load_vit(encoder_ + "/model.safetensors");
  EXPECT_TRUE(model.ok());
  std::vector<torch::Tensor> images;
  for (const auto& path : paths) {
    auto sample = eval::preprocess_image_file(path, 56, 3);
    EXPECT_TRUE(sample.ok()) << sample.status().to_string();
    images.push_back(torch::from_blob(sample->values.data(), sample->shape, torch::kFloat32).clone());
  }
  torch::NoGradGuard no_grad;
  ViTForwardOptions options;
  options.intermediate_layers = layers;
  return (*model)->forward(torch::stack(images), {}, options);
}

}  // namespace radflow::ml::test
