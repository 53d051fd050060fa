// The features plugin through radflow-worker: shapes, equality with an in-process
// forward of the same preprocessed images, patch-token layers, row metadata, and
// clear failures for bad inputs.
#include <filesystem>
#include <fstream>

#include "plugins/ml/data/manifest.h"
#include "plugins/ml/eval/feature_set.h"
#include "tests/ml/features/plugin_fixture.h"

namespace radflow::ml::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class FeaturesPluginTest : public PluginFixture {};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(FeaturesPluginTest, FeaturesEqualADirectForwardWithPatchLayersAndRows) {
  auto events = run("features", {{"patch_layers", {-1, 0}}, {"batch_size", 3}},
                    {{"encoder", encoder_}, {"dataset", dataset_}});
  ASSERT_EQ(events.back()["status"], "succeeded") << events.back().dump();
  auto set = eval::read_feature_set(output_of(events, "features"), /*with_patch_tokens=*/true);
  ASSERT_TRUE(set.ok()) << set.status().to_string();

  auto manifest = data::read_manifest(dataset_ + "/manifest.csv");
  ASSERT_TRUE(manifest.ok());
  const int64_t n = static_cast<int64_t>(manifest->records.size());
  ASSERT_EQ(n, 7);
  EXPECT_EQ(set->cls.sizes(), (std::vector<int64_t>{n, 64}));
  EXPECT_EQ(set->mean_patch.sizes(), (std::vector<int64_t>{n, 64}));
  EXPECT_EQ(set->grid_h, 4);
  EXPECT_EQ(set->grid_w, 4);
  ASSERT_EQ(set->patch_tokens.size(), 2u);
  ASSERT_TRUE(set->patch_tokens.count(0) && set->patch_tokens.count(2));  // -1 of 3 blocks = 2
  EXPECT_EQ(set->patch_tokens[0].sizes(), (std::vector<int64_t>{n, 16, 64}));

  std::vector<std::string> paths;
  for (const auto& r : manifest->records) paths.push_back(manifest->resolve(r.path));
  const ViTOutput expected = reference_forward(paths, {2, 0});
  EXPECT_TRUE(torch::allclose(set->cls, expected.cls, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(set->mean_patch, expected.patch_tokens.mean(1), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(set->patch_tokens[2], expected.intermediates[0].patch_tokens, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(set->patch_tokens[0], expected.intermediates[1].patch_tokens, 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(set->patch_tokens[0], set->patch_tokens[2], 1e-3, 1e-3));
  // Per-block CLS tokens for the probe's last-blocks features; the last block's is the final CLS.
  ASSERT_EQ(set->layer_cls.size(), 2u);
  EXPECT_TRUE(torch::allclose(set->layer_cls[0], expected.intermediates[1].cls, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(set->layer_cls[2], set->cls, 1e-5, 1e-5));

  // Rows in manifest order, carrying what the evaluation plugins need.
  ASSERT_EQ(set->rows.size(), static_cast<size_t>(n));
  bool any_label = false, any_report = false, any_mask = false;
  for (int64_t i = 0; i < n; ++i) {
    const auto& row = set->rows[i];
    const auto& record = manifest->records[i];
    EXPECT_EQ(row.path, paths[i]);
    EXPECT_EQ(row.split, data::split_name(record.split));
    EXPECT_EQ(row.labels, record.labels);
    EXPECT_EQ(row.report, record.report);
    EXPECT_EQ(row.sex, record.sex);
    EXPECT_EQ(row.age, record.age);
    for (const auto& [structure, mask] : row.masks) {
      EXPECT_TRUE(fs::path(mask).is_absolute()) << mask;
      EXPECT_TRUE(fs::exists(mask)) << mask;
    }
    any_label |= !row.labels.empty();
    any_report |= !row.report.empty();
    any_mask |= row.masks.count("lungs") > 0;
  }
  EXPECT_TRUE(any_label && any_report && any_mask);

  EXPECT_EQ(set->meta["encoder"], fs::path(encoder_ + "/model.safetensors").lexically_normal().string());
  EXPECT_EQ(set->meta["encoder_digest"].get<std::string>().size(), 7u + 64u);
  EXPECT_EQ(set->meta["arch"]["dim"], 64);
  EXPECT_EQ(set->meta["arch"]["depth"], 3);
  EXPECT_EQ(set->meta["arch"]["patch"], 14);
  EXPECT_EQ(set->meta["image_size"], 56);
  EXPECT_EQ(set->meta["patch_layers"], json::array({0, 2}));

  int progress = 0, rate = 0;
  for (const auto& e : events) {
    progress += e.value("type", "") == "progress";
    rate += e.value("type", "") == "metric" && e.value("name", "") == "images_per_second";
  }
  EXPECT_EQ(rate, 3);  // 7 images in batches of 3
  EXPECT_GE(progress, 3);
}

TEST_F(FeaturesPluginTest, SplitsFilterRowsAndNoLayersMeansNoPatchFile) {
  auto events = run("features", {{"splits", {"train"}}}, {{"encoder", encoder_ + "/model.safetensors"},
                                                         {"dataset", dataset_}});
  ASSERT_EQ(events.back()["status"], "succeeded") << events.back().dump();
  const std::string out = output_of(events, "features");
  EXPECT_FALSE(fs::exists(out + "/patches.safetensors"));
  auto set = eval::read_feature_set(out);
  ASSERT_TRUE(set.ok());
  ASSERT_FALSE(set->rows.empty());
  for (const auto& row : set->rows) EXPECT_EQ(row.split, "train");
  EXPECT_LT(set->rows.size(), 7u);
}

TEST_F(FeaturesPluginTest, AMissingEncoderFailsClearly) {
  auto events = run("features", json::object(), {{"encoder", dir_ + "/nowhere"}, {"dataset", dataset_}});
  EXPECT_EQ(events.back()["status"], "failed");
  EXPECT_TRUE(contains(message_of(events), "encoder checkpoint not found")) << message_of(events);
  EXPECT_TRUE(contains(message_of(events), "nowhere")) << message_of(events);
}

TEST_F(FeaturesPluginTest, ACorruptEncoderFailsClearly) {
  fs::create_directories(dir_ + "/corrupt");
  std::ofstream(dir_ + "/corrupt/model.safetensors") << "this is not a safetensors file";
  auto events = run("features", json::object(), {{"encoder", dir_ + "/corrupt"}, {"dataset", dataset_}});
  EXPECT_EQ(events.back()["status"], "failed");
  EXPECT_TRUE(contains(message_of(events), "cannot load encoder")) << message_of(events);
}

TEST_F(FeaturesPluginTest, ADatasetWithoutManifestFailsClearly) {
  fs::create_directories(dir_ + "/empty-dataset");
  auto events = run("features", json::object(), {{"encoder", encoder_}, {"dataset", dir_ + "/empty-dataset"}});
  EXPECT_EQ(events.back()["status"], "failed");
  EXPECT_TRUE(contains(message_of(events), "has no manifest")) << message_of(events);
}

TEST_F(FeaturesPluginTest, ABrokenImageIsNamed) {
  const std::string broken = dir_ + "/broken";
  fs::create_directories(broken);
  std::ofstream(broken + "/bad.png") << "\x89PNG\r\n\x1a\n truncated";
  auto manifest = data::read_manifest(dataset_ + "/manifest.csv");
  ASSERT_TRUE(manifest.ok());
  data::Manifest mixed;
  mixed.records = {manifest->records[0], manifest->records[1]};
  for (auto& r : mixed.records) r.path = manifest->resolve(r.path), r.masks.clear();
  mixed.records[1].path = broken + "/bad.png";
  ASSERT_TRUE(data::write_manifest(mixed, broken + "/manifest.csv", data::ManifestFormat::kCsv).ok());
  auto events = run("features", json::object(), {{"encoder", encoder_}, {"dataset", broken}});
  EXPECT_EQ(events.back()["status"], "failed");
  EXPECT_TRUE(contains(message_of(events), "sample 1")) << message_of(events);
  EXPECT_TRUE(contains(message_of(events), "bad.png")) << message_of(events);
}

TEST_F(FeaturesPluginTest, AnOutOfRangePatchLayerFailsClearly) {
  auto events = run("features", {{"patch_layers", {3}}}, {{"encoder", encoder_}, {"dataset", dataset_}});
  EXPECT_EQ(events.back()["status"], "failed");
  EXPECT_TRUE(contains(message_of(events), "patch layer 3 is out of range")) << message_of(events);
}

TEST_F(FeaturesPluginTest, AnImageSizeOffThePatchGridFailsClearly) {
  auto events = run("features", {{"image_size", 50}}, {{"encoder", encoder_}, {"dataset", dataset_}});
  EXPECT_EQ(events.back()["status"], "failed");
  EXPECT_TRUE(contains(message_of(events), "not a multiple of the encoder's patch size 14")) << message_of(events);
}

}  // namespace
}  // namespace radflow::ml::test
