// test-ranks: every rank writes output_dir/env-<rank>.json with its torchrun-style
// environment and host placement; rank 0 registers output_dir as output "env".
#include <chrono>
#include <cstdlib>
#include <thread>
#include <fstream>

#include "radflow/plugin.hpp"

static nlohmann::json env_or_null(const char* name) {
  const char* value = std::getenv(name);
  return value ? nlohmann::json(value) : nlohmann::json();
}

static int run(radflow::sdk::Context& ctx) {
  // fail_rank >= 0: that rank fails after a moment while every other rank hangs,
  // ignoring cancellation, so only the executor can stop them.
  const int64_t fail_rank = ctx.param<int64_t>("fail_rank", -1);
  if (fail_rank >= 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (ctx.rank() == fail_rank) {
      ctx.fail("rank " + std::to_string(ctx.rank()) + " lost its GPU in test");
      return RF_RUN_FAILED;
    }
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  nlohmann::json report = {
      {"env",
       {{"RANK", env_or_null("RANK")},
        {"LOCAL_RANK", env_or_null("LOCAL_RANK")},
        {"WORLD_SIZE", env_or_null("WORLD_SIZE")},
        {"MASTER_ADDR", env_or_null("MASTER_ADDR")},
        {"MASTER_PORT", env_or_null("MASTER_PORT")},
        {"CUDA_VISIBLE_DEVICES", env_or_null("CUDA_VISIBLE_DEVICES")},
        {"OMP_WAIT_POLICY", env_or_null("OMP_WAIT_POLICY")},
        {"GOMP_SPINCOUNT", env_or_null("GOMP_SPINCOUNT")}}},
      {"host",
       {{"rank", ctx.rank()},
        {"world_size", ctx.world_size()},
        {"local_rank", ctx.local_rank()},
        {"device", ctx.device()}}}};
  const std::string file = ctx.output_path("env-" + std::to_string(ctx.rank()) + ".json");
  std::ofstream(file) << report.dump(2) << "\n";
  if (ctx.rank() == 0) ctx.register_output("env", ctx.output_dir());
  return RF_RUN_OK;
}

RADFLOW_PLUGIN("test-ranks", "1.0.0", "Test plugin that reports its placement.",
               R"({"type":"object","properties":{"fail_rank":{"type":"integer","default":-1}},
                  "additionalProperties":false})", "[]",
               R"([{"name":"env","description":"a folder of env-<rank>.json files"}])", run)
