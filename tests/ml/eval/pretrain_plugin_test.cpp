// The pretrain plugin through the real radflow-worker on a tiny synth-cxr dataset:
// it trains, reports every loss term per iteration, writes an encoder that loads, a
// second attempt resumes from the first one's checkpoint instead of starting over, and
// bad params fail before any work with a message naming the param.
#include <gtest/gtest.h>

#include "plugins/ml/torch/checkpoint.h"
#include "tests/ml/eval/pretrain_worker.h"

namespace radflow::ml {
namespace {
using namespace pretrain_test;  // NOLINT: test helpers

class PretrainPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "rf-pretrain-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(PretrainPluginTest, TrainsWritesALoadableEncoderAndResumes) {
  auto synth = run_attempt("synth-cxr", {{"seed", 1}, {"count", 16}, {"image_size", 64}}, json::object(),
                           dir_ + "/synth/attempt-1");
  ASSERT_EQ(synth.back()["status"], "succeeded") << synth.back().dump();
  const std::string dataset = output_of(synth, "dataset");
  ASSERT_FALSE(dataset.empty());

  const json params = {{"arch", "tiny"}, {"image_size", 56}, {"iterations", 4},
                       {"batch_size", 4}, {"checkpoint_every", 2}, {"seed", 3}};
  auto first = run_attempt("pretrain", params, {{"dataset", dataset}}, dir_ + "/pretrain/attempt-1");
  ASSERT_EQ(first.back()["status"], "succeeded") << first.back().dump();
  for (const char* metric : {"loss.total", "loss.dino_local", "loss.dino_global", "loss.ibot",
                             "loss.koleo", "lr", "teacher_temp", "collapse.teacher_feature_std"}) {
    EXPECT_EQ(points_of(first, metric), 4) << metric;
  }
  const std::string encoder = output_of(first, "encoder");
  auto model = load_vit(encoder + "/model.safetensors");
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  EXPECT_EQ((*model)->forward(torch::zeros({1, 3, 56, 56})).cls.size(1), 96);  // tiny default width

  // The same step's next attempt asks for 6 iterations: it continues at 4.
  json more = params;
  more["iterations"] = 6;
  auto second = run_attempt("pretrain", more, {{"dataset", dataset}}, dir_ + "/pretrain/attempt-2");
  ASSERT_EQ(second.back()["status"], "succeeded") << second.back().dump();
  EXPECT_EQ(points_of(second, "loss.total"), 2);
  EXPECT_TRUE(logged(second, "resumed at iteration 4"));
}

TEST_F(PretrainPluginTest, ADatasetWithoutTrainingImagesFailsClearly) {
  fs::create_directories(dir_ + "/empty");
  std::ofstream(dir_ + "/empty/manifest.csv") << "path,split\n";
  auto events = run_attempt("pretrain", json::object(), {{"dataset", dir_ + "/empty"}}, dir_ + "/p/attempt-1");
  EXPECT_EQ(events.back()["status"], "failed");
  EXPECT_NE(end_message(events).find("0 training image(s)"), std::string::npos) << events.back().dump();
}

TEST_F(PretrainPluginTest, BadParamsFailNamingTheParam) {
  fs::create_directories(dir_ + "/empty");
  std::ofstream(dir_ + "/empty/manifest.csv") << "path,split\n";
  const json inputs = {{"dataset", dir_ + "/empty"}};
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"arch", "small"}, {"embed_dim", 96}}, "param 'embed_dim' applies to arch tiny only"},
      {{{"precision", "bf16"}}, "param 'precision' bf16 needs device cuda"},
      {{{"device", "cuda"}, {"precision", "fp16"}}, "param 'precision' must be bf16 or fp32"},
      {{{"teacher_targets", "softmax"}}, "param 'teacher_targets' must be centering or sinkhorn"},
      {{{"global_crop_scale", {0.5}}}, "param 'global_crop_scale' must be an array of 2 numbers"},
      {{{"image_size", 60}}, "must be a multiple of the patch size"},
      {{{"learning_rate", 0.1}}, "unknown param 'learning_rate'"},
  };
  int n = 0;
  for (const auto& [params, expected] : cases) {
    auto events = run_attempt("pretrain", params, inputs, dir_ + "/bad/attempt-" + std::to_string(++n));
    EXPECT_EQ(events.back()["status"], "failed") << params.dump();
    EXPECT_NE(end_message(events).find(expected), std::string::npos)
        << params.dump() << " -> " << events.back().dump();
  }
}

// Continued pretraining from a 518-px checkpoint (a 37x37 position grid, as
// microsoft/rad-dino and dinov2-base; here a tiny width) at 224-px global and 98-px
// local crops: the grid is interpolated for every crop size, never replaced, so the
// written encoder still has 37x37 and runs at 518, through the HF and DINOv2 layouts.
TEST_F(PretrainPluginTest, ContinuesFromA37x37GridAtOtherCropSizesAndKeepsTheGrid) {
  ViTConfig native = vit_tiny_test(/*depth=*/1);
  native.embed_dim = 32, native.num_heads = 2, native.image_size = 518;
  torch::manual_seed(5);
  VisionTransformer init(native);
  fs::create_directories(dir_ + "/init");
  ASSERT_TRUE(save_checkpoint(init, dir_ + "/init/model.safetensors").ok());

  auto synth = run_attempt("synth-cxr", {{"seed", 2}, {"count", 6}, {"image_size", 128}}, json::object(),
                           dir_ + "/synth/attempt-1");
  ASSERT_EQ(synth.back()["status"], "succeeded") << synth.back().dump();
  const json params = {{"arch", "tiny"}, {"embed_dim", 32}, {"depth", 1}, {"heads", 2}, {"patch_size", 14},
                       {"image_size", 224}, {"local_crop_size", 98}, {"local_crops", 2}, {"iterations", 2},
                       {"batch_size", 2}, {"seed", 1}, {"init_checkpoint", dir_ + "/init/model.safetensors"}};
  auto events = run_attempt("pretrain", params, {{"dataset", output_of(synth, "dataset")}}, dir_ + "/p/attempt-1");
  ASSERT_EQ(events.back()["status"], "succeeded") << events.back().dump();
  EXPECT_EQ(points_of(events, "loss.total"), 2);
  bool grid_logged = false;
  for (const auto& e : events) {
    grid_logged |= e.value("type", "") == "log" &&
                   e.value("message", "").find("224 / 98 px (position grid 37x37)") != std::string::npos;
  }
  EXPECT_TRUE(grid_logged);

  auto trained = load_vit(output_of(events, "encoder") + "/model.safetensors");
  ASSERT_TRUE(trained.ok()) << trained.status().to_string();
  EXPECT_EQ((*trained)->config().image_size, 518);
  EXPECT_EQ((*trained)->pos_embed.sizes(), torch::IntArrayRef({1, 1 + 37 * 37, 32}));
  torch::NoGradGuard no_grad;
  EXPECT_EQ((*trained)->forward(torch::zeros({1, 3, 518, 518})).patch_tokens.size(1), 37 * 37);
  EXPECT_EQ((*trained)->forward(torch::zeros({1, 3, 224, 224})).patch_tokens.size(1), 16 * 16);
  for (CheckpointLayout layout : {CheckpointLayout::kHuggingFace, CheckpointLayout::kDinov2}) {
    const std::string path = dir_ + "/again-" + to_string(layout) + "/model.safetensors";
    fs::create_directories(fs::path(path).parent_path());
    ASSERT_TRUE(save_checkpoint(*trained, path, layout).ok());
    auto again = load_vit(path);
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    EXPECT_EQ((*again)->config().image_size, 518) << to_string(layout);
    EXPECT_TRUE(torch::equal((*again)->pos_embed, (*trained)->pos_embed)) << to_string(layout);
  }
  // A checkpoint with another patch size fails naming the param, before any step.
  ViTConfig patch16 = native;
  patch16.patch_size = 16, patch16.image_size = 224;
  fs::create_directories(dir_ + "/p16");
  ASSERT_TRUE(save_checkpoint(VisionTransformer(patch16), dir_ + "/p16/model.safetensors").ok());
  json bad = params;
  bad["init_checkpoint"] = dir_ + "/p16/model.safetensors";
  auto failed = run_attempt("pretrain", bad, {{"dataset", output_of(synth, "dataset")}}, dir_ + "/p16/attempt-1");
  EXPECT_EQ(failed.back()["status"], "failed");
  EXPECT_NE(end_message(failed).find("has patch size 16"), std::string::npos) << end_message(failed);
}

// Where no GPU is visible, device cuda fails before any work and says what to do.
TEST_F(PretrainPluginTest, CudaWithoutAVisibleGpuFailsClearly) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a CUDA device is visible here";
  fs::create_directories(dir_ + "/empty");
  std::ofstream(dir_ + "/empty/manifest.csv") << "path,split\n";
  auto events = run_attempt("pretrain", {{"device", "cuda"}}, {{"dataset", dir_ + "/empty"}}, dir_ + "/cuda/attempt-1");
  EXPECT_EQ(events.back()["status"], "failed");
  const std::string message = end_message(events);
  EXPECT_NE(message.find("sees no CUDA device"), std::string::npos) << message;
  EXPECT_NE(message.find("resources.gpus"), std::string::npos) << message;
}

}  // namespace
}  // namespace radflow::ml
