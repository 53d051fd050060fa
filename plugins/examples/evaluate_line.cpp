// evaluate-line: scores a fitted line on a table: R² and mean absolute error.
#include <cmath>
#include <fstream>

#include "line_table.h"
#include "radflow/plugin.hpp"

namespace {

int run(radflow::sdk::Context& ctx) {
  const radflow::examples::LineTable table = radflow::examples::read_line_table(ctx.input("table"));
  nlohmann::json model;
  {
    std::ifstream in(ctx.input("model"));
    model = nlohmann::json::parse(in);  // a parse error becomes plugin_exception
  }
  const double slope = model.at("slope").get<double>();
  const double intercept = model.at("intercept").get<double>();

  const double n = static_cast<double>(table.x.size());
  double mean_y = 0;
  for (double y : table.y) mean_y += y / n;
  double ss_res = 0, ss_tot = 0, abs_err = 0;
  for (size_t i = 0; i < table.x.size(); ++i) {
    const double e = table.y[i] - (slope * table.x[i] + intercept);
    ss_res += e * e;
    ss_tot += (table.y[i] - mean_y) * (table.y[i] - mean_y);
    abs_err += std::fabs(e);
  }
  // A constant target has no variance to explain: R² is 1 for a perfect fit, else 0.
  const double r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : (ss_res == 0 ? 1.0 : 0.0);
  const double mae = abs_err / n;
  ctx.metric("r2", 0, r2);
  ctx.metric("mae", 0, mae);

  const nlohmann::json report = {{"r2", r2}, {"mae", mae}, {"rows", table.x.size()},
                                 {"slope", slope}, {"intercept", intercept}};
  const std::string path = ctx.output_path("report.json");
  std::ofstream(path) << report.dump(2) << "\n";
  ctx.log_info("R² " + std::to_string(r2) + ", MAE " + std::to_string(mae));
  ctx.progress(1.0, "done");
  ctx.register_output("report", path);
  return RF_RUN_OK;
}

}  // namespace

RADFLOW_PLUGIN(
    "evaluate-line", "1.0.0", "Scores a fitted line on an x,y table (R², MAE).",
    R"({"type": "object", "properties": {}, "additionalProperties": false})",
    R"([{"name": "table", "description": "CSV file with header x,y to score on."},
        {"name": "model", "description": "JSON file with slope and intercept (the output of fit-line)."}])",
    R"([{"name": "report", "description": "JSON file {r2, mae, rows, slope, intercept}."}])",
    run)
