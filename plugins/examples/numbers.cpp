// numbers: writes a CSV table of x,y points on the line y = 3x + 2 with gaussian
// noise; x is uniform in [0, 1). Deterministic for a given seed on every platform
// (mt19937_64 and a hand-written Box-Muller, not std:: distributions, whose output
// differs between standard libraries).
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "radflow/plugin.hpp"

namespace {

double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

double gaussian(std::mt19937_64& rng) {
  double u1 = uniform01(rng);
  while (u1 <= 0.0) u1 = uniform01(rng);
  const double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

int run(radflow::sdk::Context& ctx) {
  const int64_t seed = ctx.param<int64_t>("seed", 0);
  const int64_t count = ctx.param<int64_t>("count", 1000);
  const double noise = ctx.param<double>("noise", 0.1);
  if (count < 1 || count > 10000000) throw radflow::sdk::ParamError("param 'count' must be in [1, 10^7]");
  if (noise < 0) throw radflow::sdk::ParamError("param 'noise' must be >= 0");

  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  const std::string path = ctx.output_path("table.csv");
  std::ofstream out(path);
  out << "x,y\n";
  char row[64];
  for (int64_t i = 0; i < count; ++i) {
    if (i % 100000 == 0) {
      if (ctx.cancelled()) return RF_RUN_CANCELLED;
      ctx.progress(static_cast<double>(i) / count, "writing rows");
    }
    const double x = uniform01(rng);
    const double y = 3.0 * x + 2.0 + noise * gaussian(rng);
    std::snprintf(row, sizeof row, "%.17g,%.17g\n", x, y);
    out << row;
  }
  out.close();
  if (!out) throw std::runtime_error("could not write " + path);
  ctx.log_info("wrote " + std::to_string(count) + " rows to " + path);
  ctx.progress(1.0, "done");
  ctx.register_output("table", path);
  return RF_RUN_OK;
}

}  // namespace

RADFLOW_PLUGIN(
    "numbers", "1.0.0", "Generates a noisy CSV table of points on the line y = 3x + 2.",
    R"({
      "type": "object",
      "properties": {
        "seed": {"type": "integer", "default": 0, "description": "Seed of the random generator."},
        "count": {"type": "integer", "default": 1000, "minimum": 1, "maximum": 10000000,
                  "description": "Number of rows."},
        "noise": {"type": "number", "default": 0.1, "minimum": 0,
                  "description": "Standard deviation of the gaussian noise added to y."}
      },
      "additionalProperties": false
    })",
    "[]",
    R"([{"name": "table", "description": "CSV file with header x,y, one point per row."}])",
    run)
