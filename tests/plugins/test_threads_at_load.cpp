// test-threads-at-load: starts a thread while its library loads (as some runtimes
// do in static initialisers), which makes forking from a process that loaded it
// unsafe: the fork server refuses it and its workers are started with exec.
// Logs its parent's pid so tests can tell which way its worker was started.
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "radflow/plugin.hpp"

namespace {

// Sleeps for the life of the process; detached so unloading never waits on it.
const bool kThreadStarted = [] {
  std::thread([] {
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }).detach();
  return true;
}();

int run(radflow::sdk::Context& ctx) {
  ctx.log_info("ppid " + std::to_string(getppid()) + (kThreadStarted ? "" : " (no thread)"));
  return RF_RUN_OK;
}

}  // namespace

RADFLOW_PLUGIN("test-threads-at-load", "1.0.0",
               "Test plugin that starts a thread when its library loads.",
               R"({"type":"object","properties":{},"additionalProperties":false})", "[]", "[]",
               run)
