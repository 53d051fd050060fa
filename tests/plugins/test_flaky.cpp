// test-flaky: hangs (ignoring cancellation) on every attempt before
// hang_until_attempt, then succeeds: the shape of a step that needs a timeout and a
// retry. The attempt number comes from $RADFLOW_ATTEMPT, set by the executor.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context& ctx) {
  const int64_t hang_until = ctx.param<int64_t>("hang_until_attempt", 2);
  const char* attempt_env = std::getenv("RADFLOW_ATTEMPT");
  const int64_t attempt = attempt_env ? std::atoll(attempt_env) : 1;
  ctx.log_info("attempt " + std::to_string(attempt));
  if (attempt < hang_until) {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  const std::string out = ctx.output_path("out.txt");
  std::ofstream(out) << attempt << "\n";
  ctx.register_output("out", out);
  return RF_RUN_OK;
}

RADFLOW_PLUGIN("test-flaky", "1.0.0", "Test plugin that hangs until a later attempt.",
               R"({"type":"object","properties":{
                   "hang_until_attempt":{"type":"integer","minimum":1,"default":2}},
                 "additionalProperties":false})",
               "[]", R"([{"name":"out","description":"the attempt number that succeeded"}])", run)
