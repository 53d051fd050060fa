// bench-metrics: the plugin of bench/metric_ingestion (README.md there). Logs `points`
// metric points round-robin over `series` series ("bench.s0", ...), as fast as it can,
// and times every metric() call: how long the plugin spent inside them, the longest
// one, how many took over 1 ms, and the thread's context switches during the loop
// (getrusage RUSAGE_THREAD): a voluntary switch is the thread blocking (on a lock, a
// pipe, the disk), an involuntary one the kernel giving its core to another process,
// which on a shared machine makes some calls slow without anything blocking them. The figures go out as one log line that starts with
// "bench-metrics " followed by a JSON object, written after the last point.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "radflow/plugin.hpp"

static int run(radflow::sdk::Context& ctx) {
  using Clock = std::chrono::steady_clock;
  const int64_t points = ctx.param<int64_t>("points", 1000000);
  const int64_t series = ctx.param<int64_t>("series", 4);
  std::vector<std::string> names;
  for (int64_t s = 0; s < series; ++s) names.push_back("bench.s" + std::to_string(s));

  const int64_t first_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  int64_t in_calls_ns = 0, max_call_ns = 0, calls_over_1ms = 0;
  rusage before{}, after{};
  getrusage(RUSAGE_THREAD, &before);
  const auto loop_start = Clock::now();
  for (int64_t i = 0; i < points; ++i) {
    const auto s = Clock::now();
    ctx.metric(names[static_cast<size_t>(i % series)], i / series, 0.5 * static_cast<double>(i));
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - s).count();
    in_calls_ns += ns;
    max_call_ns = std::max(max_call_ns, ns);
    if (ns > 1000000) ++calls_over_1ms;
  }
  const double loop_ms = std::chrono::duration<double, std::milli>(Clock::now() - loop_start).count();
  getrusage(RUSAGE_THREAD, &after);
  const nlohmann::json stats = {{"points", points},           {"first_ms", first_ms},
                                {"loop_ms", loop_ms},         {"in_calls_ms", in_calls_ns / 1e6},
                                {"max_call_us", max_call_ns / 1e3}, {"calls_over_1ms", calls_over_1ms},
                                {"voluntary_switches", after.ru_nvcsw - before.ru_nvcsw},
                                {"involuntary_switches", after.ru_nivcsw - before.ru_nivcsw}};
  ctx.log_info("bench-metrics " + stats.dump());
  return RF_RUN_OK;
}

RADFLOW_PLUGIN("bench-metrics", "1.0.0", "Benchmark plugin: logs many metric points and times the calls.",
               R"({"type":"object","properties":{
                   "points":{"type":"integer","default":1000000,"minimum":1,"description":"points to log"},
                   "series":{"type":"integer","default":4,"minimum":1,"description":"series they are spread over"}},
                 "additionalProperties":false})",
               R"([])", R"([])", run)
