// test-cancellable: polls cancelled() until the worker is told to stop, then
// returns RF_RUN_CANCELLED.
#include <chrono>
#include <thread>

#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context& ctx) {
  ctx.log_info("waiting for cancellation");
  while (!ctx.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ctx.log_info("cancelled; stopping");
  return RF_RUN_CANCELLED;
}

RADFLOW_PLUGIN("test-cancellable", "1.0.0", "Test plugin that stops when cancelled.",
               R"({"type":"object"})", "[]", R"([{"name":"out","description":"never written"}])",
               run)
