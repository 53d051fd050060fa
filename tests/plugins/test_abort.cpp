// test-abort: calls std::abort(); the worker process must die of SIGABRT.
#include <cstdlib>

#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context& ctx) {
  ctx.log_info("about to abort");
  std::abort();
}

RADFLOW_PLUGIN("test-abort", "1.0.0", "Test plugin that aborts.", R"({"type":"object"})", "[]",
               "[]", run)
