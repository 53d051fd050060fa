// Templates of `radflow plugins new`. @NAME@ becomes the plugin's name. The three
// kinds differ in their .cpp and test only; CMakeLists.txt and README.md are shared.
#include "orchestrator/cli/plugin_template.h"

namespace radflow::cli {
namespace {

const char* kCMakeLists = R"TPL(cmake_minimum_required(VERSION 3.22)
project(@NAME@ LANGUAGES C CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)

# radflow's CMake package: radflow::plugin_sdk, radflow::plugin_testing and
# radflow_add_plugin(). Point CMAKE_PREFIX_PATH at radflow's install prefix.
find_package(radflow 0.1 CONFIG REQUIRED)

# Builds @NAME@.so; `cmake --install` puts it into <prefix>/lib/radflow/plugins.
radflow_add_plugin(@NAME@ SOURCES @NAME@.cpp)

option(BUILD_TESTING "Build the plugin's test" ON)
if(BUILD_TESTING)
  find_package(GTest REQUIRED)
  enable_testing()
  # The test links the plugin's source and runs it in process with the harness.
  add_executable(@NAME@_test @NAME@.cpp @NAME@_test.cpp)
  target_link_libraries(@NAME@_test PRIVATE radflow::plugin_testing GTest::gtest_main)
  add_test(NAME @NAME@_test COMMAND @NAME@_test)
endif()
)TPL";

const char* kReadme = R"TPL(# @NAME@

A radflow step plugin (@KIND@), made by `radflow plugins new`.

```sh
cmake -S . -B build -DCMAKE_PREFIX_PATH=/path/to/radflow/prefix
cmake --build build
ctest --test-dir build                     # the harness test (@NAME@_test.cpp)
radflow plugins check build/plugins/@NAME@.so   # what radflow-worker's loader says about it
cp build/plugins/@NAME@.so /path/to/radflow/prefix/lib/radflow/plugins/   # or: cmake --install build --prefix /path/to/radflow/prefix
```

The running daemon sees the new plugin at its next rescan (`radflow plugins reload`,
or any `radflow plugins` / submit). Use it in a workflow as `"plugin": "@NAME@"`.
)TPL";

const char* kEvaluationCpp = R"TPL(// @NAME@: an evaluation plugin. Reads per-item predictions (a CSV with a header
// "score,label", label 0 or 1) and reports accuracy at a threshold, as metrics and as
// a JSON file.
#include <fstream>
#include <sstream>
#include <string>

#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context& ctx) {
  const double threshold = ctx.param<double>("threshold");
  std::ifstream in(ctx.input("predictions"));
  if (!in) {
    ctx.fail("cannot read " + ctx.input("predictions"));
    return RF_RUN_FAILED;
  }
  std::string line;
  std::getline(in, line);  // header
  int64_t items = 0, correct = 0, positives = 0;
  while (std::getline(in, line)) {
    if (ctx.cancelled()) return RF_RUN_CANCELLED;
    std::istringstream row(line);
    double score = 0;
    int label = 0;
    char comma = 0;
    if (!(row >> score >> comma >> label) || comma != ',') {
      ctx.fail("line " + std::to_string(items + 2) + " is not score,label: " + line);
      return RF_RUN_FAILED;
    }
    correct += (score >= threshold) == (label == 1);
    positives += label == 1;
    ++items;
  }
  if (items == 0) {
    ctx.fail("no predictions in " + ctx.input("predictions"));
    return RF_RUN_FAILED;
  }
  const double accuracy = static_cast<double>(correct) / static_cast<double>(items);
  ctx.metric("accuracy", 0, accuracy);
  ctx.metric("positives", 0, static_cast<double>(positives));
  ctx.progress(1.0, "evaluated " + std::to_string(items) + " items");
  const std::string out = ctx.output_path("metrics.json");
  std::ofstream(out) << "{\"accuracy\": " << accuracy << ", \"items\": " << items << "}\n";
  ctx.register_output("metrics", out);
  ctx.log_info("accuracy " + std::to_string(accuracy) + " on " + std::to_string(items) + " items");
  return RF_RUN_OK;
}

RADFLOW_PLUGIN("@NAME@", "0.1.0", "Accuracy of per-item predictions at a threshold.",
               R"({"type":"object","properties":{
                   "threshold":{"type":"number","minimum":0,"maximum":1,"default":0.5,
                                "description":"scores at or above it predict 1"}},
                  "additionalProperties":false})",
               R"([{"name":"predictions","description":"CSV: score,label"}])",
               R"([{"name":"metrics","description":"metrics.json"}])",
               run)
)TPL";

const char* kEvaluationTest = R"TPL(// @NAME@ run in process by radflow's test harness.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "radflow/plugin_testing.hpp"

extern "C" const rf_plugin* radflow_plugin(void);

TEST(Plugin, ReportsAccuracyAtTheThreshold) {
  const auto dir = std::filesystem::temp_directory_path() / "@NAME@-test";
  std::filesystem::create_directories(dir);
  std::ofstream((dir / "predictions.csv").string()) << "score,label\n0.9,1\n0.2,0\n0.7,0\n0.4,1\n";
  radflow::testing::PluginRun run;
  run.params = {{"threshold", 0.5}};
  run.inputs = {{"predictions", (dir / "predictions.csv").string()}};
  run.output_dir = (dir / "out").string();
  const auto result = radflow::testing::run_plugin(*radflow_plugin(), run);
  ASSERT_TRUE(result.ok()) << result.reason << ": " << result.message;
  EXPECT_DOUBLE_EQ(result.last_metric("accuracy"), 0.5);
  EXPECT_DOUBLE_EQ(result.last_metric("positives"), 2);
  EXPECT_EQ(result.outputs.count("metrics"), 1u);
  std::filesystem::remove_all(dir);
}

TEST(Plugin, RefusesAThresholdOutsideTheSchema) {
  radflow::testing::PluginRun run;
  run.params = {{"threshold", 2}};
  run.inputs = {{"predictions", "/nonexistent.csv"}};
  const auto result = radflow::testing::run_plugin(*radflow_plugin(), run);
  EXPECT_EQ(result.reason, "invalid_params");
}
)TPL";

const char* kDataCpp = R"TPL(// @NAME@: a data plugin. Writes a table of `rows` (x, y) pairs, y = 2x + 1 plus
// seeded noise, as table.csv.
#include <fstream>
#include <random>
#include <string>

#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context& ctx) {
  const int rows = ctx.param<int>("rows");
  std::mt19937_64 rng(static_cast<uint64_t>(ctx.param<int64_t>("seed")));
  std::normal_distribution<double> noise(0.0, 0.1);
  const std::string out = ctx.output_path("table.csv");
  std::ofstream table(out);
  table << "x,y\n";
  for (int i = 0; i < rows; ++i) {
    if (ctx.cancelled()) return RF_RUN_CANCELLED;
    const double x = static_cast<double>(i) / rows;
    table << x << "," << 2 * x + 1 + noise(rng) << "\n";
    if ((i + 1) % 100 == 0) ctx.progress(static_cast<double>(i + 1) / rows, "writing rows");
  }
  table.close();
  ctx.metric("rows", 0, rows);
  ctx.register_output("table", out);
  ctx.log_info("wrote " + std::to_string(rows) + " rows");
  return RF_RUN_OK;
}

RADFLOW_PLUGIN("@NAME@", "0.1.0", "Writes a noisy (x, y) table.",
               R"({"type":"object","properties":{
                   "rows":{"type":"integer","minimum":1,"default":100},
                   "seed":{"type":"integer","default":0}},
                  "additionalProperties":false})",
               "[]",
               R"([{"name":"table","description":"table.csv: x,y"}])",
               run)
)TPL";

const char* kDataTest = R"TPL(// @NAME@ run in process by radflow's test harness.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "radflow/plugin_testing.hpp"

extern "C" const rf_plugin* radflow_plugin(void);

TEST(Plugin, WritesTheRequestedRows) {
  radflow::testing::PluginRun run;
  run.params = {{"rows", 250}, {"seed", 7}};
  const auto result = radflow::testing::run_plugin(*radflow_plugin(), run);
  ASSERT_TRUE(result.ok()) << result.reason << ": " << result.message;
  std::ifstream table(result.outputs.at("table"));
  std::string line;
  int lines = 0;
  while (std::getline(table, line)) ++lines;
  EXPECT_EQ(lines, 251);  // header + rows
  EXPECT_EQ(result.last_metric("rows"), 250);
  result.remove_output_dir();
}

TEST(Plugin, DefaultsComeFromTheSchema) {
  const auto result = radflow::testing::run_plugin(*radflow_plugin(), {});
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.params["rows"], 100);
  result.remove_output_dir();
}
)TPL";

const char* kTrainerCpp = R"TPL(// @NAME@: a trainer plugin. Fits y = a x + b to a CSV table (header "x,y") by
// gradient descent, a loss metric every epoch, and writes the model as JSON.
// Checks cancellation every epoch.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context& ctx) {
  const int epochs = ctx.param<int>("epochs");
  const double lr = ctx.param<double>("lr");
  std::ifstream in(ctx.input("table"));
  std::string line;
  std::getline(in, line);  // header
  std::vector<double> xs, ys;
  while (std::getline(in, line)) {
    std::istringstream row(line);
    double x = 0, y = 0;
    char comma = 0;
    if (row >> x >> comma >> y && comma == ',') {
      xs.push_back(x);
      ys.push_back(y);
    }
  }
  if (xs.empty()) {
    ctx.fail("no x,y rows in " + ctx.input("table"));
    return RF_RUN_FAILED;
  }
  double a = 0, b = 0;
  const double n = static_cast<double>(xs.size());
  for (int epoch = 0; epoch < epochs; ++epoch) {
    if (ctx.cancelled()) return RF_RUN_CANCELLED;
    double grad_a = 0, grad_b = 0, loss = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      const double error = a * xs[i] + b - ys[i];
      loss += error * error / n;
      grad_a += 2 * error * xs[i] / n;
      grad_b += 2 * error / n;
    }
    a -= lr * grad_a;
    b -= lr * grad_b;
    ctx.metric("loss", epoch, loss);
    ctx.progress(static_cast<double>(epoch + 1) / epochs, "epoch " + std::to_string(epoch + 1));
  }
  const std::string out = ctx.output_path("model.json");
  std::ofstream(out) << "{\"a\": " << a << ", \"b\": " << b << "}\n";
  ctx.register_output("model", out);
  return RF_RUN_OK;
}

RADFLOW_PLUGIN("@NAME@", "0.1.0", "Fits a line by gradient descent.",
               R"({"type":"object","properties":{
                   "epochs":{"type":"integer","minimum":1,"default":200},
                   "lr":{"type":"number","exclusiveMinimum":0,"default":0.5}},
                  "additionalProperties":false})",
               R"([{"name":"table","description":"CSV: x,y"}])",
               R"([{"name":"model","description":"model.json: a, b"}])",
               run)
)TPL";

const char* kTrainerTest = R"TPL(// @NAME@ run in process by radflow's test harness.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "radflow/plugin_testing.hpp"

extern "C" const rf_plugin* radflow_plugin(void);

TEST(Plugin, LossFallsAndCancellationIsHonoured) {
  const auto dir = std::filesystem::temp_directory_path() / "@NAME@-test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream table((dir / "table.csv").string());
    table << "x,y\n";
    for (int i = 0; i < 20; ++i) table << i / 20.0 << "," << 3 * (i / 20.0) - 1 << "\n";
  }
  radflow::testing::PluginRun run;
  run.inputs = {{"table", (dir / "table.csv").string()}};
  run.output_dir = (dir / "out").string();
  const auto result = radflow::testing::run_plugin(*radflow_plugin(), run);
  ASSERT_TRUE(result.ok()) << result.reason << ": " << result.message;
  const auto loss = result.metric("loss");
  ASSERT_EQ(loss.size(), 200u);
  EXPECT_LT(loss.back(), loss.front() / 10);

  run.cancelled = true;
  EXPECT_EQ(radflow::testing::run_plugin(*radflow_plugin(), run).status, "cancelled");
  std::filesystem::remove_all(dir);
}
)TPL";

std::string fill(std::string text, const std::string& name, const std::string& kind) {
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"@NAME@", name},
                                   std::pair<std::string, std::string>{"@KIND@", kind}}) {
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size())) {
      text.replace(at, key.size(), value);
    }
  }
  return text;
}

}  // namespace

const std::vector<std::string>& plugin_kinds() {
  static const std::vector<std::string> kinds = {"evaluation", "data", "trainer"};
  return kinds;
}

std::map<std::string, std::string> plugin_project_files(const std::string& name,
                                                        const std::string& kind) {
  const char* source = kind == "data" ? kDataCpp : kind == "trainer" ? kTrainerCpp : kEvaluationCpp;
  const char* test = kind == "data" ? kDataTest : kind == "trainer" ? kTrainerTest : kEvaluationTest;
  return {{"CMakeLists.txt", fill(kCMakeLists, name, kind)},
          {"README.md", fill(kReadme, name, kind)},
          {name + ".cpp", fill(source, name, kind)},
          {name + "_test.cpp", fill(test, name, kind)}};
}

}  // namespace radflow::cli
