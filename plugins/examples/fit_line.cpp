// fit-line: fits y = slope * x + intercept to a numbers table by mini-batch SGD on
// the mean squared error. Reports "loss", "slope" and "intercept" every epoch and
// stops early when cancelled.
#include <algorithm>
#include <fstream>
#include <numeric>
#include <random>

#include "line_table.h"
#include "radflow/plugin.hpp"

namespace {

double mse(const radflow::examples::LineTable& t, double slope, double intercept) {
  double sum = 0;
  for (size_t i = 0; i < t.x.size(); ++i) {
    const double e = slope * t.x[i] + intercept - t.y[i];
    sum += e * e;
  }
  return sum / static_cast<double>(t.x.size());
}

int run(radflow::sdk::Context& ctx) {
  const int64_t epochs = ctx.param<int64_t>("epochs", 200);
  const double lr = ctx.param<double>("lr", 0.05);
  const int64_t batch_size = ctx.param<int64_t>("batch_size", 32);
  const int64_t seed = ctx.param<int64_t>("seed", 0);
  if (epochs < 1) throw radflow::sdk::ParamError("param 'epochs' must be >= 1");
  if (!(lr > 0)) throw radflow::sdk::ParamError("param 'lr' must be > 0");
  if (batch_size < 1) throw radflow::sdk::ParamError("param 'batch_size' must be >= 1");

  const radflow::examples::LineTable table = radflow::examples::read_line_table(ctx.input("table"));
  std::vector<size_t> order(table.x.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(static_cast<uint64_t>(seed));

  double slope = 0, intercept = 0, loss = mse(table, slope, intercept);
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    if (ctx.cancelled()) {
      ctx.log_warning("cancelled at epoch " + std::to_string(epoch));
      return RF_RUN_CANCELLED;
    }
    // A hand-rolled Fisher-Yates: std::shuffle's sequence differs between libraries.
    for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng() % (i + 1)]);
    for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size)) {
      const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size));
      double grad_slope = 0, grad_intercept = 0;
      for (size_t k = start; k < end; ++k) {
        const size_t i = order[k];
        const double e = slope * table.x[i] + intercept - table.y[i];
        grad_slope += 2 * e * table.x[i];
        grad_intercept += 2 * e;
      }
      const double n = static_cast<double>(end - start);
      slope -= lr * grad_slope / n;
      intercept -= lr * grad_intercept / n;
    }
    loss = mse(table, slope, intercept);
    ctx.metric("loss", epoch, loss);
    ctx.metric("slope", epoch, slope);
    ctx.metric("intercept", epoch, intercept);
    ctx.progress(static_cast<double>(epoch + 1) / epochs, "epoch " + std::to_string(epoch + 1));
  }
  if (!std::isfinite(loss)) throw std::runtime_error("training diverged (loss is not finite); lower lr");

  const nlohmann::json model = {{"slope", slope}, {"intercept", intercept}, {"epochs", epochs},
                                {"final_loss", loss}, {"rows", table.x.size()}};
  const std::string path = ctx.output_path("model.json");
  std::ofstream(path) << model.dump(2) << "\n";
  ctx.log_info("slope " + std::to_string(slope) + ", intercept " + std::to_string(intercept));
  ctx.register_output("model", path);
  return RF_RUN_OK;
}

}  // namespace

RADFLOW_PLUGIN(
    "fit-line", "1.0.0", "Fits a line to an x,y table by mini-batch SGD.",
    R"({
      "type": "object",
      "properties": {
        "epochs": {"type": "integer", "default": 200, "minimum": 1, "maximum": 100000,
                   "description": "Passes over the table."},
        "lr": {"type": "number", "default": 0.05, "exclusiveMinimum": 0, "maximum": 10,
               "description": "SGD learning rate."},
        "batch_size": {"type": "integer", "default": 32, "minimum": 1, "maximum": 1000000,
                       "description": "Rows per SGD step."},
        "seed": {"type": "integer", "default": 0, "description": "Seed of the row shuffling."}
      },
      "additionalProperties": false
    })",
    R"([{"name": "table", "description": "CSV file with header x,y (the output of numbers)."}])",
    R"([{"name": "model", "description": "JSON file {slope, intercept, epochs, final_loss, rows}."}])",
    run)
