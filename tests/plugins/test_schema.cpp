// test-schema: does nothing, but declares a params schema with every keyword the
// validator enforces (required, enum, minimum, maximum, types, no unknown keys), so
// end-to-end tests can provoke each param error through the daemon.
#include "radflow/plugin.hpp"

namespace {

int run(radflow::sdk::Context& ctx) {
  ctx.log_info("mode " + ctx.param<std::string>("mode"));
  return RF_RUN_OK;
}

}  // namespace

RADFLOW_PLUGIN("test-schema", "1.0.0", "Test plugin with a demanding params schema.",
               R"({"type":"object","required":["mode"],"properties":{
                   "mode":{"type":"string","enum":["fast","exact"]},
                   "level":{"type":"integer","minimum":0,"maximum":10,"default":5},
                   "ratio":{"type":"number","minimum":0,"maximum":1}},
                 "additionalProperties":false})",
               R"([{"name":"in","optional":true}])", R"([])", run)
