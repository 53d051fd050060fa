// test-fail: reports a failure through host->fail and returns RF_RUN_FAILED.
#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context& ctx) {
  ctx.log_error("about to fail");
  ctx.fail("disk quota exceeded in test");
  return RF_RUN_FAILED;
}

RADFLOW_PLUGIN("test-fail", "1.0.0", "Test plugin that fails.", R"({"type":"object"})", "[]",
               R"([{"name":"out","description":"never written"}])", run)
