// The out-of-tree plugin path of issue #15, end to end: radflow's SDK is installed
// into a temporary prefix; examples/knn-probe is configured and built against that
// prefix only; the library is dropped into a running daemon's plugin folder and is
// found without a restart; a workflow runs it on synth-cxr features; its metrics,
// read over the API, equal a recomputation from its predictions artifact with
// radflow's own metric code (plugins/ml/metrics, which the example does not use).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/e2e/daemon_fixture.h"
#if RADFLOW_WITH_TORCH  // plugins/ml is built only with LibTorch
#include "plugins/ml/metrics/auroc.h"
#include "plugins/ml/metrics/average_precision.h"
#endif

namespace radflow::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Runs a shell command, its output into `log`; true when it exits 0.
[[maybe_unused]] bool sh(const std::string& command, const std::string& log) {
  return std::system((command + " >" + log + " 2>&1").c_str()) == 0;
}

[[maybe_unused]] std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(PluginSdk, KnnProbeBuiltOutOfTreeRunsInARunningDaemon) {
#if !RADFLOW_WITH_TORCH
  GTEST_SKIP() << "needs the features plugin (RADFLOW_WITH_TORCH=ON)";
#else
  DaemonFixtureDirs dirs;
  const std::string prefix = dirs.root() + "/prefix", build = dirs.root() + "/knn-build";
  ASSERT_TRUE(sh(std::string(RADFLOW_CMAKE) + " --install " + RADFLOW_BUILD_DIR + " --prefix " +
                     prefix + " --component dev", dirs.root() + "/install.log"))
      << read_text(dirs.root() + "/install.log");
  ASSERT_TRUE(sh(std::string(RADFLOW_CMAKE) + " -S " + RADFLOW_KNN_PROBE_DIR + " -B " + build +
                     " -DCMAKE_PREFIX_PATH=" + prefix + " -DBUILD_TESTING=OFF" +
                     " -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Release",
                 dirs.root() + "/configure.log"))
      << read_text(dirs.root() + "/configure.log");
  EXPECT_NE(read_text(build + "/CMakeCache.txt").find("radflow_DIR:PATH=" + prefix + "/"),
            std::string::npos)
      << "radflow must come from the temporary prefix";
  ASSERT_TRUE(sh(std::string(RADFLOW_CMAKE) + " --build " + build, dirs.root() + "/build.log"))
      << read_text(dirs.root() + "/build.log");

  Daemon daemon(dirs.data_dir(), dirs.plugin_dir());
  fs::copy_file(build + "/plugins/knn-probe.so", dirs.plugin_dir() + "/knn-probe.so");
  auto [reload_status, reloaded] = daemon.post("/api/v1/plugins/reload", "{}");
  ASSERT_EQ(reload_status, 200) << reloaded.dump();
  bool found = false;
  for (const auto& p : reloaded["plugins"]) found = found || p["name"] == "knn-probe";
  ASSERT_TRUE(found) << reloaded.dump();

  const std::string workflow = R"({"name": "knn-out-of-tree",
    "steps": {
      "synth": {"plugin": "synth-cxr", "params": {"seed": 3, "count": 80, "image_size": 64}},
      "dataset": {"plugin": "dataset", "inputs": {"source": "synth.dataset"}},
      "features": {"plugin": "features", "inputs": {"dataset": "dataset.dataset"},
                   "params": {"pixels": 8}},
      "knn": {"plugin": "knn-probe", "inputs": {"features": "features.features"},
              "params": {"k": 5, "bootstrap": 50}}}})";
  auto [status, created] = daemon.post("/api/v1/runs", workflow);
  ASSERT_EQ(status, 201) << created.dump();
  const json run = daemon.wait_for_run(created["id"].get<int64_t>(), std::chrono::seconds(170));
  ASSERT_EQ(run["status"], "succeeded") << run.dump(1);
  const std::string step = "/api/v1/runs/" + std::to_string(created["id"].get<int64_t>()) + "/steps/knn";

  // The predictions artifact, read back over the API.
  const json outputs = daemon.get(step + "/outputs");
  std::string artifact;
  for (const auto& o : outputs) {
    if (o["name"] == "predictions") artifact = std::to_string(o["artifact"].get<int64_t>());
  }
  ASSERT_FALSE(artifact.empty()) << outputs.dump();
  auto content = daemon.http().Get(("/api/v1/artifacts/" + artifact + "/content").c_str());
  ASSERT_TRUE(content);
  ASSERT_EQ(content->status, 200);
  std::map<std::string, std::vector<double>> scores;
  std::map<std::string, std::vector<int>> labels;
  std::istringstream lines(content->body);
  std::string line;
  while (std::getline(lines, line)) {
    const json row = json::parse(line);
    for (const auto& [finding, label] : row["labels"].items()) {
      scores[finding].push_back(row["scores"][finding].get<double>());
      labels[finding].push_back(label.get<int>());
    }
  }
  ASSERT_FALSE(scores.empty()) << content->body.substr(0, 500);

  const json metrics = daemon.get(step + "/metrics?max_points=0");
  int compared = 0;
  for (const auto& [finding, s] : scores) {
    const double auroc = ml::metrics::auroc(s, labels[finding]);
    const double auprc = ml::metrics::average_precision(s, labels[finding]);
    if (std::isnan(auroc)) continue;  // a finding with one class in the test split
    ASSERT_TRUE(metrics["series"].contains("auroc." + finding)) << metrics.dump();
    EXPECT_NEAR(metrics["series"]["auroc." + finding][0][1].get<double>(), auroc, 1e-12) << finding;
    EXPECT_NEAR(metrics["series"]["auprc." + finding][0][1].get<double>(), auprc, 1e-12) << finding;
    ++compared;
  }
  EXPECT_GE(compared, 2) << metrics.dump();
#endif
}

}  // namespace
}  // namespace radflow::test
