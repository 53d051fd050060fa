// test-segv: writes through a null pointer; the worker process must die of SIGSEGV.
#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context& ctx) {
  ctx.log_info("about to crash");
  volatile int* volatile target = nullptr;
  *target = 42;
  return RF_RUN_OK;
}

RADFLOW_PLUGIN("test-segv", "1.0.0", "Test plugin that crashes.", R"({"type":"object"})", "[]",
               "[]", run)
