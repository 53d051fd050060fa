// The pretrain plugin through the real radflow-worker on a tiny synth-cxr dataset:
// it trains, reports every loss term per iteration, writes an encoder that loads, and
// a second attempt resumes from the first one's checkpoint instead of starting over.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "plugins/ml/torch/checkpoint.h"
#include "tests/worker/worker_process.h"

namespace radflow::ml {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class PretrainPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rf-pretrain-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs one attempt of `plugin`; returns its events (the end event last).
  std::vector<json> run(const std::string& plugin, json params, json inputs,
                        const std::string& attempt_dir) {
    fs::create_directories(attempt_dir);
    json spec = {{"plugin_path", std::string(RADFLOW_PLUGIN_DIR) + "/" + plugin + ".so"},
                 {"plugin_dir", RADFLOW_PLUGIN_DIR},
                 {"plugin_name", plugin},
                 {"params", params},
                 {"inputs", inputs},
                 {"output_dir", attempt_dir + "/outputs"}};
    const std::string spec_path = attempt_dir + "/spec.json";
    std::ofstream(spec_path) << spec.dump();
    test::WorkerProcess worker({"--attempt", spec_path},
                               {{"RADFLOW_ATTEMPT_DIR", attempt_dir}, {"RADFLOW_CPUS", "2"}});
    worker.read_all();
    worker.wait();
    return worker.events();
  }

  static std::string output_of(const std::vector<json>& events, const std::string& name) {
    for (const auto& e : events) {
      if (e.value("type", "") == "output" && e.value("name", "") == name) return e["path"];
    }
    return "";
  }
  static int points_of(const std::vector<json>& events, const std::string& metric) {
    int n = 0;
    for (const auto& e : events) n += e.value("type", "") == "metric" && e.value("name", "") == metric;
    return n;
  }
  std::string dir_;
};

TEST_F(PretrainPluginTest, TrainsWritesALoadableEncoderAndResumes) {
  auto synth = run("synth-cxr", {{"seed", 1}, {"count", 16}, {"image_size", 64}}, json::object(),
                   dir_ + "/synth/attempt-1");
  ASSERT_EQ(synth.back()["status"], "succeeded") << synth.back().dump();
  const std::string dataset = output_of(synth, "dataset");
  ASSERT_FALSE(dataset.empty());

  const json params = {{"arch", "tiny"}, {"image_size", 56}, {"iterations", 4},
                       {"batch_size", 4}, {"checkpoint_every", 2}, {"seed", 3}};
  auto first = run("pretrain", params, {{"dataset", dataset}}, dir_ + "/pretrain/attempt-1");
  ASSERT_EQ(first.back()["status"], "succeeded") << first.back().dump();
  for (const char* metric : {"loss.total", "loss.dino_local", "loss.dino_global", "loss.ibot",
                             "loss.koleo", "lr", "teacher_temp", "collapse.teacher_feature_std"}) {
    EXPECT_EQ(points_of(first, metric), 4) << metric;
  }
  const std::string encoder = output_of(first, "encoder");
  auto model = load_vit(encoder + "/model.safetensors");
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  EXPECT_EQ((*model)->forward(torch::zeros({1, 3, 56, 56})).cls.size(1), 64);

  // The same step's next attempt asks for 6 iterations: it continues at 4.
  json more = params;
  more["iterations"] = 6;
  auto second = run("pretrain", more, {{"dataset", dataset}}, dir_ + "/pretrain/attempt-2");
  ASSERT_EQ(second.back()["status"], "succeeded") << second.back().dump();
  EXPECT_EQ(points_of(second, "loss.total"), 2);
  bool resumed = false;
  for (const auto& e : second) resumed |= e.value("message", "") == "resumed at iteration 4";
  EXPECT_TRUE(resumed);
}

TEST_F(PretrainPluginTest, ADatasetWithoutTrainingImagesFailsClearly) {
  fs::create_directories(dir_ + "/empty");
  std::ofstream(dir_ + "/empty/manifest.csv") << "path,split\n";
  auto events = run("pretrain", json::object(), {{"dataset", dir_ + "/empty"}}, dir_ + "/p/attempt-1");
  EXPECT_EQ(events.back()["status"], "failed");
  EXPECT_NE(events.back()["message"].get<std::string>().find("0 training image(s)"), std::string::npos)
      << events.back().dump();
}

}  // namespace
}  // namespace radflow::ml
