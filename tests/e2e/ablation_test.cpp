// The paper's ablation workflows (workflows/ablation-*.json) run end to end through a
// real daemon at CPU scale: the same steps, inputs and run params, with only the
// sizes shrunk (`cpu_scale` below lists every change). What each ablation compares is
// then checked on what the steps wrote:
//   resolution  two resolutions continued from one checkpoint whose native grid is
//               neither (both encoders keep the checkpoint's grid; features at each);
//   init        random init vs continued pretraining (the continued encoder stays near
//               its checkpoint, the random one does not);
//   data scale  the pretrain steps train on the fractions they were given.
// The data and the checkpoint come from the same daemon (synth-cxr, a tiny pretrain),
// copied into a --data-root as a lab's /data and /models would be.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr auto kRunTimeout = std::chrono::seconds(600);

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// Paper scale -> CPU scale. The tiny ViT (pretrain's arch "tiny") has patch 14 and 4
// blocks, so the ViT-B blocks the FPN reads, [3, 6, 9, 11], become [0, 1, 2, 3]. 518 px
// (the checkpoint's native size in the paper, 37 x 37 patches) becomes 56 (4 x 4) and
// 224 becomes 28 (2 x 2), so the lower resolution is still an interpolated grid.
int64_t cpu_size(int64_t paper_size) {
  if (paper_size == 518) return 56;
  if (paper_size == 224) return 28;
  ADD_FAILURE() << "no CPU size for image_size " << paper_size;
  return 56;
}

json cpu_scale(json workflow) {
  for (auto& [id, step] : workflow.at("steps").items()) {
    if (step.contains("resources")) step["resources"] = {{"cpus", 1}};
    if (!step.contains("params")) step["params"] = json::object();
    json& p = step["params"];
    const std::string plugin = step.at("plugin");
    if (plugin == "pretrain") {
      p["arch"] = "tiny";
      p["device"] = "cpu";
      p["batch_size"] = 4;
      p["local_crops"] = 2;
      p["checkpoint_every"] = 1;
      p["image_size"] = cpu_size(p.at("image_size").get<int64_t>());
    } else if (plugin == "features") {
      p["image_size"] = cpu_size(p.at("image_size").get<int64_t>());
      p["patch_layers"] = {0, 1, 2, 3};
    } else if (plugin == "segment") {
      p["epochs"] = 3;
    } else {
      EXPECT_TRUE(plugin == "dataset" || plugin == "probe" || plugin == "demographic-correlation")
          << id << ": cpu_scale does not know plugin " << plugin;
    }
  }
  return workflow;
}

// One tensor of a safetensors file (F32 only: what the pretrain plugin writes).
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

Tensor read_tensor(const std::string& file_bytes, const std::string& name) {
  uint64_t header_size = 0;
  std::memcpy(&header_size, file_bytes.data(), 8);
  const json header = json::parse(file_bytes.substr(8, header_size));
  Tensor t;
  if (!header.contains(name)) {
    ADD_FAILURE() << "no tensor " << name;
    return t;
  }
  const json& entry = header.at(name);
  EXPECT_EQ(entry.at("dtype"), "F32") << name;
  t.shape = entry.at("shape").get<std::vector<int64_t>>();
  const size_t begin = entry.at("data_offsets")[0], end = entry.at("data_offsets")[1];
  t.values.resize((end - begin) / sizeof(float));
  std::memcpy(t.values.data(), file_bytes.data() + 8 + header_size + begin, end - begin);
  return t;
}

double distance(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape, b.shape);
  double s = 0;
  for (size_t i = 0; i < std::min(a.values.size(), b.values.size()); ++i) {
    s += (a.values[i] - b.values[i]) * (a.values[i] - b.values[i]);
  }
  return std::sqrt(s);
}

class Ablations : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RADFLOW_WITH_TORCH) GTEST_SKIP() << "built without LibTorch: no pretrain plugin";
    fs::create_directories(data_root_);
    daemon_ = std::make_unique<Daemon>(dirs_.data_dir(), dirs_.plugin_dir(),
                                       std::vector<std::string>{"--cpus", "2", "--data-root", data_root_});
    ASSERT_NO_FATAL_FAILURE(prepare_data_and_checkpoint());
  }

  int64_t submit(const json& workflow) {
    auto [status, body] = daemon_->post("/api/v1/runs", workflow.dump());
    EXPECT_EQ(status, 201) << body.dump(2);
    return body.value("id", int64_t{-1});
  }

  json run_to_success(const json& workflow) {
    const int64_t id = submit(workflow);
    if (id < 0) return json::object();
    json run = daemon_->wait_for_run(id, kRunTimeout);
    EXPECT_EQ(run["status"], "succeeded") << run.dump(2);
    return run;
  }

  // /api/v1/runs/{id}/steps/{step}, the prefix of every per-step route.
  static std::string step_route(const json& run, const std::string& step) {
    return "/api/v1/runs/" + std::to_string(run["id"].get<int64_t>()) + "/steps/" + step;
  }

  // The one artifact step `step` of `run` output (every step here has one output).
  json output_of(const json& run, const std::string& step) {
    const json outputs = daemon_->get(step_route(run, step) + "/outputs");
    if (outputs.size() != 1) {
      ADD_FAILURE() << step << " has " << outputs.size() << " outputs, not 1: " << outputs.dump();
      return json::object();
    }
    return outputs[0];
  }

  // The bytes of file `name` in the artifact that step `step` of run `run` output.
  std::string output_file(const json& run, const std::string& step, const std::string& name) {
    const json artifact = output_of(run, step);
    if (!artifact.contains("artifact")) return "";
    const std::string route =
        "/api/v1/artifacts/" + std::to_string(artifact["artifact"].get<int64_t>()) + "/content/" + name;
    auto res = daemon_->http().Get(route.c_str());
    EXPECT_TRUE(res && res->status == 200) << route;
    return res ? res->body : "";
  }

  std::string logs(const json& run, const std::string& step) {
    auto res = daemon_->http().Get((step_route(run, step) + "/logs").c_str());
    return res ? res->body : "";
  }

  // The run params every ablation takes, pointed at the data root.
  json ablation(const std::string& file) {
    json workflow = cpu_scale(read_json(fs::path(RADFLOW_WORKFLOWS_DIR) / file));
    workflow["params"]["images_dir"] = data_root_ + "/cxr";
    workflow["params"]["labels"] = data_root_ + "/cxr/manifest.csv";
    workflow["params"]["init_checkpoint"] = data_root_ + "/models/tiny/model.safetensors";
    workflow["params"]["iterations"] = 2;
    return workflow;
  }

  // synth-cxr's images and a tiny encoder pretrained at 56 px (native grid 4 x 4),
  // copied out of the artifact store into the data root.
  void prepare_data_and_checkpoint() {
    const json prepare = {
        {"name", "ablation-inputs"},
        {"steps",
         {{"synth", {{"plugin", "synth-cxr"}, {"params", {{"seed", 5}, {"count", 60}, {"image_size", 64}}}}},
          {"pretrain",
           {{"plugin", "pretrain"},
            {"inputs", {{"dataset", "synth.dataset"}}},
            {"params", {{"iterations", 2}, {"batch_size", 4}, {"image_size", 56}, {"seed", 1}}}}}}}};
    const json run = run_to_success(prepare);
    ASSERT_EQ(run["status"], "succeeded");
    copy_artifact(run, "synth", data_root_ + "/cxr");
    copy_artifact(run, "pretrain", data_root_ + "/models/tiny");
    checkpoint_ = read_bytes(data_root_ + "/models/tiny/model.safetensors");
  }

  void copy_artifact(const json& run, const std::string& step, const std::string& target) {
    const json artifact = output_of(run, step);
    ASSERT_TRUE(artifact.contains("digest"));
    // The content-addressed store: artifacts/sha256/<2 hex>/<digest> (storage/README.md).
    std::string digest = artifact.at("digest").get<std::string>();
    if (digest.rfind("sha256:", 0) == 0) digest = digest.substr(7);
    const fs::path source = fs::path(dirs_.data_dir()) / "artifacts/sha256" / digest.substr(0, 2) / digest;
    ASSERT_TRUE(fs::is_directory(source)) << source << " from " << artifact.dump();
    fs::create_directories(fs::path(target).parent_path());
    fs::copy(source, target, fs::copy_options::recursive);
  }

  static std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }

  DaemonFixtureDirs dirs_;
  std::string data_root_ = dirs_.root() + "/lab-data";
  std::unique_ptr<Daemon> daemon_;
  std::string checkpoint_;
};

constexpr const char* kPosEmbed = "embeddings.position_embeddings";
constexpr const char* kPatchEmbed = "embeddings.patch_embeddings.projection.weight";

TEST_F(Ablations, ResolutionTwoSizesFromOneCheckpointKeepItsGrid) {
  const json run = run_to_success(ablation("ablation-resolution.json"));
  ASSERT_EQ(run["status"], "succeeded");
  const Tensor native = read_tensor(checkpoint_, kPosEmbed);
  ASSERT_EQ(native.shape.size(), 3u);
  ASSERT_EQ(native.shape[1], 1 + 4 * 4);  // the class token and the 4 x 4 grid of 56 px
  for (const std::string arm : {"224px", "518px"}) {
    SCOPED_TRACE(arm);
    // Continued at 28 or 56 px, the encoder still has the checkpoint's 4 x 4 grid.
    const std::string encoder = output_file(run, "pretrain-" + arm, "model.safetensors");
    EXPECT_EQ(read_tensor(encoder, kPosEmbed).shape, native.shape);
    EXPECT_NE(logs(run, "pretrain-" + arm).find("initialised the backbone from"), std::string::npos);
  }
  // Each arm's features were taken at its own resolution.
  const json low = json::parse(output_file(run, "features-224px", "meta.json"));
  const json high = json::parse(output_file(run, "features-518px", "meta.json"));
  EXPECT_EQ(low.at("image_size"), 28) << low.dump();
  EXPECT_EQ(high.at("image_size"), 56) << high.dump();
}

TEST_F(Ablations, InitRandomVersusContinued) {
  const json run = run_to_success(ablation("ablation-init.json"));
  ASSERT_EQ(run["status"], "succeeded");
  const Tensor start = read_tensor(checkpoint_, kPatchEmbed);
  const double continued = distance(read_tensor(output_file(run, "pretrain-dinov2-init", "model.safetensors"),
                                                kPatchEmbed), start);
  const double scratch = distance(read_tensor(output_file(run, "pretrain-scratch", "model.safetensors"),
                                              kPatchEmbed), start);
  // Two teacher updates move the continued weights a little; the random init is
  // another draw altogether.
  EXPECT_LT(continued * 10, scratch) << "continued " << continued << ", scratch " << scratch;
  EXPECT_EQ(logs(run, "pretrain-scratch").find("initialised the backbone from"), std::string::npos);
}

TEST_F(Ablations, DataScaleTrainsOnEachFraction) {
  const json run = run_to_success(ablation("ablation-data-scale.json"));
  ASSERT_EQ(run["status"], "succeeded");
  EXPECT_NE(logs(run, "pretrain-10pct").find("train_fraction 0.100000"), std::string::npos);
  EXPECT_NE(logs(run, "pretrain-50pct").find("train_fraction 0.500000"), std::string::npos);
  EXPECT_EQ(logs(run, "pretrain-100pct").find("train_fraction"), std::string::npos);
  // The demographic step compares the three encoders.
  const json metrics = daemon_->get(step_route(run, "demographics") + "/metrics");
  for (const std::string name : {"10pct", "50pct", "100pct"}) {
    EXPECT_NE(metrics.dump().find(name), std::string::npos) << name << " in " << metrics.dump();
  }
}

}  // namespace
}  // namespace radflow::test
