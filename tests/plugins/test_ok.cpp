// test-ok: the well-behaved plugin. Reads an optional integer from input "in",
// writes in + value to output "out", logs, reports 5 points of metric "value" and
// progress, and appends a line to $RADFLOW_TEST_INVOCATIONS when it starts and to
// $RADFLOW_TEST_COMPLETIONS when it is done ("test-ok <value> <run>/<step>/attempt-<n>",
// read from its working folder, the attempt folder), so tests can count runs and tie
// each completion to the attempt the daemon recorded. The optional output "extra" is
// produced only with "extra": true.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context& ctx) {
  const int64_t value = ctx.param<int64_t>("value", 1);
  const int64_t sleep_ms = ctx.param<int64_t>("sleep_ms", 0);
  if (const char* counter = std::getenv("RADFLOW_TEST_INVOCATIONS")) {
    std::ofstream(counter, std::ios::app) << "test-ok rank " << ctx.rank() << "\n";
  }
  int64_t in = 0;
  if (ctx.has_input("in")) {
    std::ifstream file(ctx.input("in"));
    if (!(file >> in)) throw std::runtime_error("input 'in' does not hold an integer");
  }
  ctx.log_info("test-ok starting with value " + std::to_string(value));
  ctx.log_debug("a debug line");
  for (int i = 0; i < 5; ++i) {
    ctx.metric("value", i, static_cast<double>(value * i));
    ctx.progress((i + 1) / 5.0, "step " + std::to_string(i + 1) + " of 5");
  }
  if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  const std::string out = ctx.output_path("out.txt");
  std::ofstream(out) << (in + value) << "\n";
  // register=false exercises the worker's missing_outputs check.
  if (ctx.param<bool>("register", true)) ctx.register_output("out", out);
  if (ctx.param<bool>("extra", false)) {
    const std::string extra = ctx.output_path("extra.txt");
    std::ofstream(extra) << "extra\n";
    ctx.register_output("extra", extra);
  }
  ctx.log_warning("test-ok done");
  // Counted last, so a count is a run that got all the way through.
  if (const char* completions = std::getenv("RADFLOW_TEST_COMPLETIONS")) {
    const std::filesystem::path attempt = std::filesystem::current_path();
    const std::filesystem::path step = attempt.parent_path();
    std::ofstream(completions, std::ios::app)
        << "test-ok " << value << " " << step.parent_path().filename().string() << "/"
        << step.filename().string() << "/" << attempt.filename().string() << "\n";
  }
  return RF_RUN_OK;
}

RADFLOW_PLUGIN("test-ok", "1.0.0", "Test plugin that succeeds.",
               R"({"type":"object","properties":{
                   "value":{"type":"integer","default":1,"description":"added to the input"},
                   "sleep_ms":{"type":"integer","default":0,"minimum":0,"description":"sleep before writing"},
                   "register":{"type":"boolean","default":true,"description":"register output out"},
                   "extra":{"type":"boolean","default":false,"description":"produce the optional output extra"}},
                 "additionalProperties":false})",
               R"([{"name":"in","description":"a file holding an integer","optional":true}])",
               R"([{"name":"out","description":"a file holding in + value"},
                   {"name":"extra","description":"only with extra: true","optional":true}])",
               run)
