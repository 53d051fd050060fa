// The C++ helper against a fake host: typed params and their error messages,
// inputs/outputs, the exception-catching trampoline, and RADFLOW_PLUGIN itself.
#include "radflow/plugin.hpp"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <cmath>
#include <cstddef>
#include <functional>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using radflow::sdk::Context;
using radflow::sdk::ParamError;

// A host table whose callbacks record into this object.
struct FakeHost {
  FakeHost(std::string params, std::string inputs = "{}") : params_(std::move(params)), inputs_(std::move(inputs)) {
    std::string pattern = (fs::temp_directory_path() / "rf-ctx-XXXXXX").string();
    output_dir_ = ::mkdtemp(pattern.data());
    table.version = RF_HOST_VERSION;
    table.struct_size = sizeof(rf_host);
    table.ctx = this;
    table.params_json = params_.c_str();
    table.inputs_json = inputs_.c_str();
    table.output_dir = output_dir_.c_str();
    table.rank = 1;
    table.world_size = 4;
    table.local_rank = 1;
    table.device = "cuda:1";
    table.log = [](void* ctx, int32_t level, const char* m) { self(ctx)->logs.push_back(m); };
    table.metric = [](void* ctx, const char* n, int64_t i, double v) { self(ctx)->metrics.push_back(n); };
    table.progress = [](void* ctx, double f, const char*) { self(ctx)->last_progress = f; };
    table.register_output = [](void* ctx, const char* n, const char*) -> int32_t {
      return std::string(n) == "declared" ? 0 : -1;
    };
    table.is_cancelled = [](void* ctx) -> int32_t { return self(ctx)->cancelled; };
    table.fail = [](void* ctx, const char* m) { self(ctx)->failure = m; };
  }
  ~FakeHost() { fs::remove_all(output_dir_); }
  static FakeHost* self(void* ctx) { return static_cast<FakeHost*>(ctx); }

  std::string params_, inputs_, output_dir_;
  rf_host table{};
  std::vector<std::string> logs, metrics;
  double last_progress = -1;
  int32_t cancelled = 0;
  std::string failure;
};

std::string param_error(const Context& ctx, const std::function<void(const Context&)>& f) {
  try {
    f(ctx);
  } catch (const ParamError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ContextTest, TypedParamsAndDefaults) {
  FakeHost host(R"({"n": 7, "lr": 0.5, "name": "x", "flag": true, "nothing": null})");
  Context ctx(&host.table);
  EXPECT_EQ(ctx.param<int>("n"), 7);
  EXPECT_DOUBLE_EQ(ctx.param<double>("lr"), 0.5);
  EXPECT_DOUBLE_EQ(ctx.param<double>("n"), 7.0);  // an integer is a number
  EXPECT_EQ(ctx.param<std::string>("name"), "x");
  EXPECT_TRUE(ctx.param<bool>("flag"));
  EXPECT_EQ(ctx.param<int>("missing", 3), 3);
  EXPECT_EQ(ctx.param<int>("nothing", 4), 4);  // null reads as absent
  EXPECT_EQ(ctx.param("missing", "fallback"), "fallback");
  EXPECT_EQ(ctx.params()["n"], 7);
}

TEST(ContextTest, ParamErrorsNameTheParam) {
  FakeHost host(R"({"n": 7, "lr": 0.5, "name": "x", "big": 10000000000})");
  Context ctx(&host.table);
  EXPECT_EQ(param_error(ctx, [](const Context& c) { c.param<int>("epochs"); }),
            "param 'epochs' is missing");
  std::string e = param_error(ctx, [](const Context& c) { c.param<int>("lr"); });
  EXPECT_NE(e.find("param 'lr' must be integer"), std::string::npos) << e;
  e = param_error(ctx, [](const Context& c) { c.param<int>("name", 1); });
  EXPECT_NE(e.find("param 'name' must be integer, got string"), std::string::npos) << e;
  e = param_error(ctx, [](const Context& c) { c.param<std::string>("n"); });
  EXPECT_NE(e.find("param 'n' must be string"), std::string::npos) << e;
  e = param_error(ctx, [](const Context& c) { c.param<int>("big"); });
  EXPECT_NE(e.find("param 'big' is out of range"), std::string::npos) << e;
  EXPECT_EQ(ctx.param<int64_t>("big"), 10000000000);
}

TEST(ContextTest, InputsOutputsAndPlacement) {
  FakeHost host("{}", R"({"table": "/data/t.csv"})");
  Context ctx(&host.table);
  EXPECT_TRUE(ctx.has_input("table"));
  EXPECT_FALSE(ctx.has_input("model"));
  EXPECT_EQ(ctx.input("table"), "/data/t.csv");
  EXPECT_THROW(ctx.input("model"), std::runtime_error);
  const std::string path = ctx.output_path("a/b/c.txt");
  EXPECT_EQ(path, host.output_dir_ + "/a/b/c.txt");
  EXPECT_TRUE(fs::is_directory(host.output_dir_ + "/a/b"));
  EXPECT_THROW(ctx.output_path("/etc/passwd"), std::invalid_argument);
  EXPECT_NO_THROW(ctx.register_output("declared", path));
  EXPECT_THROW(ctx.register_output("undeclared", path), std::runtime_error);
  EXPECT_EQ(ctx.rank(), 1);
  EXPECT_EQ(ctx.world_size(), 4);
  EXPECT_EQ(ctx.local_rank(), 1);
  EXPECT_EQ(ctx.device(), "cuda:1");
  EXPECT_FALSE(ctx.cancelled());
  host.cancelled = 1;
  EXPECT_TRUE(ctx.cancelled());
}

TEST(ContextTest, FinalMetricRecordsItsIntervalOnlyWhenBothBoundsAreFinite) {
  FakeHost host("{}");
  Context ctx(&host.table);
  ctx.final_metric("dice.lungs", 0.8, 0.7, 0.9);
  ctx.final_metric("iou.heart", NAN, NAN, NAN);
  ctx.final_metric("bleu4", 0.5, 0.4, NAN);
  EXPECT_EQ(host.metrics, (std::vector<std::string>{"dice.lungs", "dice.lungs.low", "dice.lungs.high", "iou.heart",
                                                    "bleu4"}));
}

TEST(ContextTest, MalformedParamsJsonIsReported) {
  FakeHost host("{not json");
  EXPECT_THROW(Context ctx(&host.table), std::runtime_error);
}

int throws_std(Context&) { throw std::runtime_error("bad thing"); }
int throws_int(Context&) { throw 42; }
int reads_missing_param(Context& ctx) { return ctx.param<int>("epochs"); }
int reports(Context& ctx) {
  ctx.log_info("hi");
  ctx.metric("loss", 0, 1.0);
  ctx.progress(0.25, "quarter");
  return RF_RUN_OK;
}

TEST(TrampolineTest, ExceptionsBecomeFailureMessages) {
  FakeHost host("{}");
  EXPECT_EQ(radflow::sdk::detail::run_trampoline<throws_std>(&host.table), RF_RUN_EXCEPTION);
  EXPECT_EQ(host.failure, "bad thing");
  EXPECT_EQ(radflow::sdk::detail::run_trampoline<throws_int>(&host.table), RF_RUN_EXCEPTION);
  EXPECT_EQ(host.failure, "unknown exception");
  EXPECT_EQ(radflow::sdk::detail::run_trampoline<reads_missing_param>(&host.table), RF_RUN_EXCEPTION);
  EXPECT_EQ(host.failure, "param 'epochs' is missing");
}

TEST(TrampolineTest, ReportsReachTheHost) {
  FakeHost host("{}");
  EXPECT_EQ(radflow::sdk::detail::run_trampoline<reports>(&host.table), RF_RUN_OK);
  EXPECT_EQ(host.logs, std::vector<std::string>{"hi"});
  EXPECT_EQ(host.metrics, std::vector<std::string>{"loss"});
  EXPECT_DOUBLE_EQ(host.last_progress, 0.25);
}

TEST(TrampolineTest, HostOlderThanV1IsRefusedWithoutCallingPastItsSize) {
  FakeHost host("{}");
  // A table that ends before `fail`: the helper must not touch fail or anything after.
  host.table.struct_size = static_cast<uint32_t>(offsetof(rf_host, log));
  host.table.fail = nullptr;  // would crash if called
  EXPECT_EQ(radflow::sdk::detail::run_trampoline<reports>(&host.table), RF_RUN_EXCEPTION);
  EXPECT_EQ(radflow::sdk::detail::run_trampoline<reports>(nullptr), RF_RUN_EXCEPTION);
}

int macro_run(Context& ctx) { return ctx.param<int>("code"); }

}  // namespace

RADFLOW_PLUGIN("macro-test", "2.1.0", "Built by the macro.", R"({"type":"object"})", "[]", "[]",
               macro_run)

namespace {

TEST(RadflowPluginMacroTest, DescriptorIsComplete) {
  const rf_plugin* p = radflow_plugin();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->abi_version, RF_PLUGIN_ABI_VERSION);
  EXPECT_EQ(p->struct_size, sizeof(rf_plugin));
  EXPECT_STREQ(p->name, "macro-test");
  EXPECT_STREQ(p->version, "2.1.0");
  EXPECT_STREQ(p->description, "Built by the macro.");
  EXPECT_STREQ(p->params_schema_json, R"({"type":"object"})");
  FakeHost host(R"({"code": 3})");
  EXPECT_EQ(p->run(&host.table), RF_RUN_CANCELLED);
  FakeHost no_code("{}");
  EXPECT_EQ(p->run(&no_code.table), RF_RUN_EXCEPTION);
  EXPECT_EQ(no_code.failure, "param 'code' is missing");
}

}  // namespace
