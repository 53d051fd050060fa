// test-hang: sleeps forever and ignores cancellation; only SIGKILL stops it.
#include <chrono>
#include <thread>

#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context& ctx) {
  ctx.log_info("hanging");
  for (;;) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

RADFLOW_PLUGIN("test-hang", "1.0.0", "Test plugin that never returns.", R"({"type":"object"})",
               "[]", "[]", run)
