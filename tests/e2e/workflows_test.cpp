// Every workflow shipped in workflows/ validates against the plugins this build makes,
// on a daemon with the capacity the paper's workflows ask for (8 GPUs, 16 CPUs; the GPU
// list is fake: validation only checks capacity, nothing runs), with the data roots
// the paper-scale workflows read from (/data and /models, as docs/workflows.md says).
//
// Built without LibTorch, only the workflows whose plugins all exist are checked, and
// demo-lite.json (what `make run` submits then) must be one of them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/e2e/daemon_fixture.h"

namespace radflow::test {
namespace {
namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> plugins_of(const nlohmann::json& workflow) {
  std::set<std::string> names;
  for (const auto& [name, step] : workflow.at("steps").items()) names.insert(step.at("plugin").get<std::string>());
  return names;
}

TEST(ShippedWorkflows, EveryWorkflowValidates) {
  DaemonFixtureDirs dirs;
  Daemon daemon(dirs.data_dir(), dirs.plugin_dir(), {"--gpus", "0,1,2,3,4,5,6,7", "--cpus", "16",
                                                     "--data-root", "/data", "--data-root", "/models"});
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(RADFLOW_WORKFLOWS_DIR)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 1u);

  int checked = 0;
  bool lite_checked = false;
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    const std::string text = read_file(file);
    const auto workflow = nlohmann::json::parse(text);
    bool all_built = true;
    for (const auto& plugin : plugins_of(workflow)) {
      all_built = all_built && fs::exists(fs::path(dirs.plugin_dir()) / (plugin + ".so"));
    }
    if (!all_built) {
      EXPECT_FALSE(RADFLOW_WITH_TORCH) << "a plugin of " << file << " is not built";
      continue;
    }
    auto [status, body] = daemon.post("/api/v1/validate", text);
    EXPECT_EQ(status, 200) << body.dump(2);
    EXPECT_EQ(body.value("valid", false), true) << body.dump(2);
    ++checked;
    lite_checked = lite_checked || file.filename() == "demo-lite.json";
  }
  EXPECT_TRUE(lite_checked);
  if (RADFLOW_WITH_TORCH) EXPECT_EQ(checked, static_cast<int>(files.size()));
}

}  // namespace
}  // namespace radflow::test
