#include "plugins/ml/torch/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>

#include "plugins/ml/safetensors/float16.h"
#include "plugins/ml/safetensors/safetensors_file.h"
#include "plugins/ml/safetensors/safetensors_writer.h"

namespace radflow::ml {
namespace {

namespace fs = std::filesystem;
namespace st = radflow::ml::safetensors;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("rf_ckpt_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) {
    fs::create_directories((dir_ / name).parent_path());
    return (dir_ / name).string();
  }

  static VisionTransformer model(ViTConfig c, uint64_t seed) {
    torch::manual_seed(seed);
    VisionTransformer m(c);
    m->eval();
    torch::NoGradGuard g;
    m->mask_token.normal_();  // zero at init; make loading it observable
    for (auto& p : m->parameters()) p.add_(0.01 * torch::randn_like(p));  // LayerScale/LN away from init
    return m;
  }

  static torch::Tensor run(VisionTransformer& m, int64_t h = 56, int64_t w = 56) {
    torch::NoGradGuard g;
    torch::manual_seed(99);
    auto x = torch::randn({2, 3, h, w});
    auto masks = torch::rand({2, (h / 14) * (w / 14)}) < 0.3;
    return m->forward(x, masks).prenorm;
  }

  // Rewrites a safetensors file tensor by tensor: rename (empty name drops it) and
  // optionally store as F16/BF16.
  static void rewrite(const std::string& from, const std::string& to,
                      const std::function<std::string(const std::string&)>& rename,
                      st::DType dtype = st::DType::kF32) {
    auto file = st::SafetensorsFile::open(from);
    ASSERT_TRUE(file.ok()) << file.status().to_string();
    std::vector<std::vector<uint16_t>> half;
    std::vector<st::TensorToWrite> out;
    for (const auto& name : file->names()) {
      auto view = file->tensor(name).value();
      const std::string new_name = rename(name);
      if (new_name.empty()) continue;
      st::TensorToWrite t{new_name, view.dtype, view.shape, view.data, view.size_bytes};
      if (dtype != st::DType::kF32) {
        auto f = st::to_f32(view).value();
        half.push_back(dtype == st::DType::kF16 ? st::f32_to_f16(f.data(), f.size())
                                                : st::f32_to_bf16(f.data(), f.size()));
        t.dtype = dtype;
        t.data = half.back().data();
        t.size_bytes = half.back().size() * 2;
      }
      out.push_back(t);
    }
    ASSERT_TRUE(st::write_safetensors(to, out).ok());
  }

  fs::path dir_;
};

TEST_F(CheckpointTest, SaveHfLoadHfRoundTripGivesIdenticalOutputs) {
  ViTConfig c = vit_tiny_test(2, 2);
  c.pos_embed_interpolation = PosEmbedInterpolation::kDinov2Antialias;
  auto m = model(c, 1);
  const auto file = path("hf/model.safetensors");
  ASSERT_TRUE(save_checkpoint(m, file).ok());
  EXPECT_TRUE(fs::exists(dir_ / "hf" / "config.json"));
  auto st_file = st::SafetensorsFile::open(file).value();
  EXPECT_EQ(st_file.size(), 8u + 2 * 18u);  // 7 top-level + registers, 18 per block
  EXPECT_TRUE(st_file.contains("encoder.layer.1.attention.attention.value.bias"));
  EXPECT_TRUE(st_file.contains("embeddings.position_embeddings"));

  auto loaded = load_vit(file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(to_json((*loaded)->config()), to_json(c));
  EXPECT_TRUE(torch::equal(run(*loaded), run(m)));
  EXPECT_TRUE(torch::equal(run(*loaded, 42, 70), run(m, 42, 70)));  // same interpolation variant
  // load_vit skips the random init (WeightInit::kOverwritten): every parameter must
  // still come from the file.
  const auto saved = m->named_parameters();
  for (const auto& p : (*loaded)->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), saved[p.key()])) << p.key();
  }
}

TEST_F(CheckpointTest, FusedQkvSplitsIntoQueryKeyValue) {
  ViTConfig c = vit_tiny_test();
  c.num_heads = 1;  // what inference assumes without config.json (width / 64)
  auto m = model(c, 2);
  const auto dino = path("dino/backbone.safetensors");
  ASSERT_TRUE(save_checkpoint(m, dino, CheckpointLayout::kDinov2).ok());
  fs::remove(dir_ / "dino" / "config.json");

  auto from_dino = load_vit(dino);  // config inferred from the tensors alone
  ASSERT_TRUE(from_dino.ok()) << from_dino.status().to_string();
  const auto hf = path("hf/model.safetensors");
  ASSERT_TRUE(save_checkpoint(*from_dino, hf).ok());

  auto dino_file = st::SafetensorsFile::open(dino).value();
  auto hf_file = st::SafetensorsFile::open(hf).value();
  EXPECT_EQ(dino_file.size(), 7u + 2 * 14u);
  auto qkv = st::to_f32(dino_file.tensor("blocks.1.attn.qkv.weight").value()).value();
  const char* parts[] = {"query", "key", "value"};
  for (int i = 0; i < 3; ++i) {
    auto part = st::to_f32(
        hf_file.tensor(std::string("encoder.layer.1.attention.attention.") + parts[i] + ".weight").value());
    ASSERT_EQ(part->size(), 64u * 64u);
    EXPECT_TRUE(std::equal(part->begin(), part->end(), qkv.begin() + i * 64 * 64)) << parts[i];
  }
  auto from_hf = load_vit(hf);
  ASSERT_TRUE(from_hf.ok()) << from_hf.status().to_string();
  auto expected = run(m);
  EXPECT_TRUE(torch::equal(run(*from_dino), expected));
  EXPECT_TRUE(torch::equal(run(*from_hf), expected));
}

TEST_F(CheckpointTest, LoadsChunkedTeacherCheckpointsAndHalfPrecision) {
  auto m = model(vit_tiny_test(), 3);
  const auto plain = path("plain/model.safetensors");
  ASSERT_TRUE(save_checkpoint(m, plain, CheckpointLayout::kDinov2).ok());
  // SSL layout: teacher and student backbones, blocks in chunks ("blocks.{chunk}.{i}.").
  const auto ssl = path("ssl/model.safetensors");
  rewrite(plain, ssl, [](const std::string& n) {
    std::string out = n;
    if (out.rfind("blocks.", 0) == 0) out = "blocks." + std::string(out[7] == '0' ? "0." : "1.") + out.substr(7);
    return "teacher.backbone." + out;
  });
  auto target = model(vit_tiny_test(), 5);
  auto report = load_checkpoint(target, ssl);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->layout, CheckpointLayout::kDinov2);
  EXPECT_EQ(report->loaded, 35u);
  EXPECT_TRUE(torch::equal(run(target), run(m)));

  for (auto dtype : {st::DType::kF16, st::DType::kBF16}) {
    const auto half = path(std::string("half/") + st::dtype_name(dtype) + ".safetensors");
    rewrite(plain, half, [](const std::string& n) { return n; }, dtype);
    auto h = model(vit_tiny_test(), 6);
    ASSERT_TRUE(load_checkpoint(h, half).ok()) << st::dtype_name(dtype);
    const double tol = dtype == st::DType::kF16 ? 1e-3 : 1e-2;
    EXPECT_TRUE(torch::allclose(h->pos_embed, m->pos_embed, tol, 1e-4)) << st::dtype_name(dtype);
    EXPECT_FALSE(torch::equal(h->pos_embed, m->pos_embed)) << st::dtype_name(dtype);
  }
}

TEST_F(CheckpointTest, MismatchingTensorIsNamedWithBothShapes) {
  const auto file = path("m/model.safetensors");
  ASSERT_TRUE(save_checkpoint(model(vit_tiny_test(), 1), file).ok());
  ViTConfig narrow = vit_tiny_test();
  narrow.mlp_ratio = 2.0;
  auto target = model(narrow, 2);
  const auto before = target->blocks[0]->as<Block>()->norm1->weight.clone();
  auto result = load_checkpoint(target, file);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), "checkpoint_mismatch");
  EXPECT_EQ(result.status().err().path, "encoder.layer.0.mlp.fc1.weight");
  EXPECT_NE(result.status().message().find("encoder.layer.0.mlp.fc1.weight has shape [256, 64] but the model "
                                           "expects [128, 64]"),
            std::string::npos)
      << result.status().message();
  // Nothing was copied before the mismatch was found.
  EXPECT_TRUE(torch::equal(target->blocks[0]->as<Block>()->norm1->weight, before));
}

TEST_F(CheckpointTest, MissingAndUnexpectedTensorsAreReported) {
  const auto deep = path("deep/model.safetensors");
  ASSERT_TRUE(save_checkpoint(model(vit_tiny_test(3), 1), deep).ok());
  auto shallow = model(vit_tiny_test(2), 2);
  auto strict = load_checkpoint(shallow, deep);
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.status().message().find("unexpected tensors: encoder.layer.2."), std::string::npos)
      << strict.status().message();
  auto lenient = load_checkpoint(shallow, deep, KeyMatching::kLenient);
  ASSERT_TRUE(lenient.ok());
  EXPECT_EQ(lenient->unexpected.size(), 18u);
  EXPECT_TRUE(lenient->missing.empty());

  auto deeper = model(vit_tiny_test(4), 3);
  auto missing = load_checkpoint(deeper, deep);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing tensors: encoder.layer.3."), std::string::npos)
      << missing.status().message();
  auto missing_lenient = load_checkpoint(deeper, deep, KeyMatching::kLenient);
  ASSERT_TRUE(missing_lenient.ok());
  EXPECT_EQ(missing_lenient->missing.size(), 18u);

  // HF exports may leave out the mask token: a strict load still succeeds.
  const auto no_mask = path("nomask/model.safetensors");
  rewrite(deep, no_mask, [](const std::string& n) { return n == "embeddings.mask_token" ? "" : n; });
  auto target = model(vit_tiny_test(3), 4);
  auto report = load_checkpoint(target, no_mask);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->missing, std::vector<std::string>{"embeddings.mask_token"});

  std::ofstream(path("junk/model.safetensors")) << "not a safetensors file";
  EXPECT_FALSE(load_checkpoint(target, path("junk/model.safetensors")).ok());
}

TEST_F(CheckpointTest, InfersConfigFromTensorShapes) {
  // ViT-B/14 at 518 (RAD-DINO), HF layout, shapes only.
  TensorShapes shapes = {
      {"embeddings.cls_token", {1, 1, 768}},
      {"embeddings.position_embeddings", {1, 1370, 768}},
      {"embeddings.patch_embeddings.projection.weight", {768, 3, 14, 14}},
      {"encoder.layer.0.mlp.fc1.weight", {3072, 768}},
      {"encoder.layer.0.attention.attention.query.bias", {768}},
      {"encoder.layer.0.layer_scale1.lambda1", {768}},
      {"encoder.layer.11.norm1.weight", {768}},
  };
  auto c = infer_vit_config(shapes, CheckpointLayout::kHuggingFace);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->embed_dim, 768);
  EXPECT_EQ(c->depth, 12);
  EXPECT_EQ(c->num_heads, 12);
  EXPECT_EQ(c->image_size, 518);
  EXPECT_EQ(c->patch_size, 14);
  EXPECT_DOUBLE_EQ(c->mlp_ratio, 4.0);
  EXPECT_TRUE(c->qkv_bias);
  EXPECT_GT(c->layerscale_init, 0.0);
  EXPECT_EQ(c->pos_embed_interpolation, PosEmbedInterpolation::kHuggingFace);

  // A tiny DINOv2 file with registers: heads default to width/64 without config.json.
  auto m = model(vit_tiny_test(2, 4), 1);
  const auto file = path("reg/model.safetensors");
  ASSERT_TRUE(save_checkpoint(m, file, CheckpointLayout::kDinov2).ok());
  auto with_json = read_checkpoint_config(file);
  ASSERT_TRUE(with_json.ok()) << with_json.status().to_string();
  EXPECT_EQ(with_json->num_heads, 4);
  fs::remove(dir_ / "reg" / "config.json");
  auto inferred = read_checkpoint_config(file);
  ASSERT_TRUE(inferred.ok()) << inferred.status().to_string();
  EXPECT_EQ(inferred->num_heads, 1);
  EXPECT_EQ(inferred->num_register_tokens, 4);
  EXPECT_EQ(inferred->image_size, 56);
  EXPECT_EQ(inferred->pos_embed_interpolation, PosEmbedInterpolation::kDinov2Antialias);

  nlohmann::json contradicting = {{"hidden_size", 128}, {"num_attention_heads", 4}};
  auto bad = infer_vit_config(shapes, CheckpointLayout::kHuggingFace, &contradicting);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().err().path, "/hidden_size");
}

TEST(CheckpointKeysTest, LayoutDetectionAndNameMap) {
  EXPECT_EQ(detect_checkpoint_layout({"embeddings.cls_token"}).value(), CheckpointLayout::kHuggingFace);
  EXPECT_EQ(detect_checkpoint_layout({"teacher.backbone.cls_token"}).value(), CheckpointLayout::kDinov2);
  EXPECT_FALSE(detect_checkpoint_layout({"foo.weight"}).ok());
  auto qkv = map_native_name("blocks.3.attn.qkv.bias", CheckpointLayout::kHuggingFace);
  ASSERT_EQ(qkv.size(), 3u);
  EXPECT_EQ(qkv[1].file_name, "encoder.layer.3.attention.attention.key.bias");
  EXPECT_EQ(qkv[1].qkv_part, 1);
  EXPECT_EQ(map_native_name("blocks.0.ls2.gamma", CheckpointLayout::kHuggingFace)[0].file_name,
            "encoder.layer.0.layer_scale2.lambda1");
  EXPECT_EQ(map_native_name("blocks.0.attn.proj.weight", CheckpointLayout::kHuggingFace)[0].file_name,
            "encoder.layer.0.attention.output.dense.weight");
  EXPECT_EQ(map_native_name("norm.bias", CheckpointLayout::kHuggingFace)[0].file_name, "layernorm.bias");
  auto norm = normalize_checkpoint_names(
      {"student.backbone.blocks.1.4.norm1.weight", "teacher.backbone.blocks.1.4.norm1.weight", "dino_head.x"},
      CheckpointLayout::kDinov2);
  ASSERT_EQ(norm.size(), 1u);
  EXPECT_EQ(norm.begin()->first, "blocks.4.norm1.weight");
  EXPECT_EQ(norm.begin()->second, "teacher.backbone.blocks.1.4.norm1.weight");
}

}  // namespace
}  // namespace radflow::ml
