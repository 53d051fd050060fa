// radflow/plugin_testing.hpp: a plugin defined here runs in process; the harness must
// check params as the daemon does, bind inputs as the worker does, and hand back
// every log line, metric, progress point and output.
#include "radflow/plugin_testing.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "radflow/plugin.hpp"

namespace {

namespace fs = std::filesystem;
using radflow::testing::PluginResult;
using radflow::testing::PluginRun;
using radflow::testing::run_plugin;

// Counts the lines of its input `table`, reports a metric per line, writes the count.
int run(radflow::sdk::Context& ctx) {
  const std::string mode = ctx.param<std::string>("mode");
  if (mode == "throw") throw std::runtime_error("thrown on purpose");
  if (mode == "fail") {
    ctx.fail("failed on purpose");
    return RF_RUN_FAILED;
  }
  if (ctx.cancelled()) return RF_RUN_CANCELLED;
  std::ifstream in(ctx.input("table"));
  std::string line;
  int64_t count = 0;
  while (std::getline(in, line)) {
    ctx.metric("line_length", count, static_cast<double>(line.size()));
    ++count;
    ctx.progress(0.5, "reading");
  }
  ctx.log_info("read " + std::to_string(count) + " lines with k=" +
               std::to_string(ctx.param<int>("k")));
  ctx.metric("lines", 0, static_cast<double>(count));
  ctx.progress(1.0, "done");
  if (mode == "no-output") return RF_RUN_OK;
  const std::string out = ctx.output_path("count.txt");
  std::ofstream(out) << count;
  ctx.register_output("count", out);
  return RF_RUN_OK;
}

}  // namespace

RADFLOW_PLUGIN("harness-demo", "1.0.0", "Counts lines.",
               R"({"type":"object","properties":{
                   "k":{"type":"integer","minimum":1,"default":3},
                   "mode":{"type":"string","enum":["ok","fail","throw","no-output"],"default":"ok"}},
                  "additionalProperties":false})",
               R"([{"name":"table","description":"a text file"}])",
               R"([{"name":"count","description":"the line count"},
                   {"name":"extra","description":"never written","optional":true}])",
               run)

namespace {

class HarnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("rf-harness-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    table_ = (dir_ / "table.txt").string();
    std::ofstream(table_) << "a\nbbb\ncc\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  PluginResult run_with(nlohmann::json params, bool bind_table = true) {
    PluginRun r;
    r.params = std::move(params);
    if (bind_table) r.inputs["table"] = table_;
    r.output_dir = (dir_ / "out").string();
    return run_plugin(*radflow_plugin(), r);
  }

  fs::path dir_;
  std::string table_;
};

TEST_F(HarnessTest, ReturnsMetricsLogsProgressAndOutputs) {
  PluginResult result = run_with({{"k", 5}});
  ASSERT_TRUE(result.ok()) << result.reason << ": " << result.message;
  EXPECT_EQ(result.reason, "ok");
  EXPECT_EQ(result.run_code, RF_RUN_OK);
  EXPECT_EQ(result.metric("line_length"), (std::vector<double>{1, 3, 2}));
  EXPECT_EQ(result.last_metric("lines"), 3);
  EXPECT_TRUE(std::isnan(result.last_metric("never")));
  EXPECT_TRUE(result.logged("read 3 lines with k=5"));
  ASSERT_EQ(result.progress.size(), 4u);
  EXPECT_EQ(result.progress.back().fraction, 1.0);
  EXPECT_EQ(result.progress.back().message, "done");
  ASSERT_EQ(result.outputs.count("count"), 1u);
  std::ifstream count(result.outputs.at("count"));
  std::string text;
  count >> text;
  EXPECT_EQ(text, "3");
}

TEST_F(HarnessTest, FillsDefaultsFromTheSchemaAsTheDaemonDoes) {
  PluginResult result = run_with(nlohmann::json::object());
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(result.params["k"], 3);
  EXPECT_EQ(result.params["mode"], "ok");
  EXPECT_TRUE(result.logged("k=3"));
}

TEST_F(HarnessTest, RefusesParamsTheSchemaRefusesWithTheDaemonsCodes) {
  PluginResult result = run_with({{"k", 0}, {"speed", "fast"}, {"mode", "sideways"}});
  EXPECT_EQ(result.status, "failed");
  EXPECT_EQ(result.reason, "invalid_params");
  EXPECT_EQ(result.run_code, -1) << "run() must not be called";
  ASSERT_EQ(result.param_errors.size(), 3u) << result.message;
  const std::string all = result.message;
  EXPECT_NE(all.find("param_range at /params/k"), std::string::npos) << all;
  EXPECT_NE(all.find("param_unknown at /params/speed"), std::string::npos) << all;
  EXPECT_NE(all.find("param_enum at /params/mode"), std::string::npos) << all;
  EXPECT_EQ(run_with({{"k", "five"}}).param_errors.at(0).rfind("param_type at /params/k", 0), 0u);
}

TEST_F(HarnessTest, ChecksInputBindingsAsTheWorkerDoes) {
  PluginResult unbound = run_with(nlohmann::json::object(), /*bind_table=*/false);
  EXPECT_EQ(unbound.reason, "invalid_spec");
  EXPECT_NE(unbound.message.find("required input 'table'"), std::string::npos) << unbound.message;

  PluginRun undeclared;
  undeclared.inputs = {{"table", table_}, {"other", table_}};
  undeclared.output_dir = (dir_ / "out").string();
  PluginResult result = run_plugin(*radflow_plugin(), undeclared);
  EXPECT_EQ(result.reason, "invalid_spec");
  EXPECT_NE(result.message.find("'other' is not declared"), std::string::npos) << result.message;
}

TEST_F(HarnessTest, ReportsFailuresExceptionsCancellationAndMissingOutputs) {
  PluginResult failed = run_with({{"mode", "fail"}});
  EXPECT_EQ(failed.reason, "plugin_failed");
  EXPECT_EQ(failed.message, "failed on purpose");

  PluginResult thrown = run_with({{"mode", "throw"}});
  EXPECT_EQ(thrown.reason, "plugin_exception");
  EXPECT_EQ(thrown.message, "thrown on purpose");

  PluginResult missing = run_with({{"mode", "no-output"}});
  EXPECT_EQ(missing.reason, "missing_outputs");
  EXPECT_NE(missing.message.find("count"), std::string::npos);
  EXPECT_EQ(missing.message.find("extra"), std::string::npos) << "optional outputs are optional";

  PluginRun cancelled;
  cancelled.inputs["table"] = table_;
  cancelled.cancelled = true;
  PluginResult c = run_plugin(*radflow_plugin(), cancelled);
  EXPECT_EQ(c.status, "cancelled");
  EXPECT_TRUE(c.made_output_dir);
  EXPECT_TRUE(fs::is_directory(c.output_dir));
  c.remove_output_dir();
  EXPECT_FALSE(fs::exists(c.output_dir));
}

TEST_F(HarnessTest, ABrokenDescriptorIsInvalidDescriptor) {
  rf_plugin broken = *radflow_plugin();
  broken.outputs_json = "[{\"description\":\"no name\"}]";
  PluginResult result = run_plugin(broken, PluginRun{});
  EXPECT_EQ(result.reason, "invalid_descriptor");
  EXPECT_NE(result.message.find("outputs_json"), std::string::npos) << result.message;
}

}  // namespace
