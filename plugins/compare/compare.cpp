// compare: judges two encoders (and optionally a baseline) on the same test items from
// their evaluation steps' per-sample predictions. For every metric of the kind it
// reports each predictor's value with its percentile bootstrap 95% interval and the
// paired bootstrap interval of the difference a - b (the same resamples for both), and
// says "better" or "worse" only when that interval excludes 0.
#include <fstream>
#include "plugins/compare/evaluated_items.h"
#include "plugins/compare/paired_comparison.h"
#include "radflow/plugin.hpp"

namespace {

using nlohmann::json;
using radflow::compare::EvaluatedItems;
namespace metrics = radflow::ml::metrics;

json finite_or_null(double value) { return std::isfinite(value) ? json(value) : json(); }

json interval_json(const metrics::BootstrapInterval& ci) {
  return {{"point", finite_or_null(ci.point)}, {"low", finite_or_null(ci.low)}, {"high", finite_or_null(ci.high)},
          {"valid_resamples", ci.n_valid}};
}

int fail(radflow::sdk::Context& ctx, const std::string& message) {
  ctx.fail(message);
  return RF_RUN_FAILED;
}

int run(radflow::sdk::Context& ctx) {
  const std::string kind = ctx.param<std::string>("kind");
  std::vector<std::string> inputs = {"a", "b"};
  if (ctx.has_input("c")) inputs.push_back("c");
  const auto names = ctx.param<std::vector<std::string>>("names", {"a", "b", "c"});
  if (names.size() < inputs.size()) return fail(ctx, "param 'names' needs a name for each bound input");
  const int resamples = ctx.param<int>("bootstrap", 1000);
  const uint64_t seed = ctx.param<uint64_t>("seed", 0);

  std::vector<EvaluatedItems> predictors;
  for (size_t p = 0; p < inputs.size(); ++p) {
    auto read = radflow::compare::read_evaluated_items(kind, ctx.input(inputs[p]), names[p]);
    if (!read.ok()) return fail(ctx, read.status().message());
    predictors.push_back(std::move(*read));
  }
  // Every predictor against a, on a's test items and the same resamples.
  const radflow::compare::PairedOptions options{resamples, 0.05, seed};
  std::vector<std::vector<radflow::compare::MetricComparison>> versus_a;
  for (size_t p = 1; p < predictors.size(); ++p) {
    auto compared = radflow::compare::compare_paired(predictors[0], predictors[p], inputs[0], inputs[p], options);
    if (!compared.ok()) return fail(ctx, compared.status().message());
    versus_a.push_back(std::move(*compared));
  }
  const EvaluatedItems& a = predictors[0];
  ctx.log_info("comparing " + std::to_string(inputs.size()) + " predictors on " + std::to_string(a.paths.size()) +
               " test items, " + std::to_string(resamples) + " paired bootstrap resamples");

  json report = {{"kind", kind},
                 {"names", json(std::vector<std::string>(names.begin(), names.begin() + inputs.size()))},
                 {"test_items", a.paths.size()},
                 {"bootstrap", resamples},
                 {"seed", seed},
                 {"alpha", 0.05},
                 {"metrics", json::array()}};
  for (size_t m = 0; m < a.metrics.size(); ++m) {
    const auto& def = a.metrics[m];
    const metrics::PairedBootstrap& ab = versus_a[0][m].paired;
    const metrics::Verdict verdict = versus_a[0][m].verdict;
    json entry = {{"metric", def.name},
                  {"higher_is_better", def.direction == metrics::Direction::kHigherIsBetter},
                  {"values", {{names[0], interval_json(ab.a)}, {names[1], interval_json(ab.b)}}},
                  {"difference", interval_json(ab.difference)},
                  {"difference_of", {names[0], names[1]}},
                  {"verdict", metrics::verdict_name(verdict)}};
    std::vector<std::pair<std::string, metrics::BootstrapInterval>> shown = {{names[0], ab.a}, {names[1], ab.b}};
    if (predictors.size() > 2) {
      // The baseline on the same resamples, and a against it.
      const metrics::PairedBootstrap& ac = versus_a[1][m].paired;
      entry["values"][names[2]] = interval_json(ac.b);
      entry["versus_baseline"] = {{"difference", interval_json(ac.difference)},
                                  {"difference_of", {names[0], names[2]}},
                                  {"verdict", metrics::verdict_name(versus_a[1][m].verdict)}};
      shown.emplace_back(names[2], ac.b);
    }
    for (const auto& [name, ci] : shown) {
      ctx.metric(def.name + "." + name, 0, ci.point);
      ctx.metric(def.name + "." + name + ".low", 0, ci.low);
      ctx.metric(def.name + "." + name + ".high", 0, ci.high);
    }
    ctx.metric(def.name + ".difference", 0, ab.difference.point);
    ctx.metric(def.name + ".difference.low", 0, ab.difference.low);
    ctx.metric(def.name + ".difference.high", 0, ab.difference.high);
    // +1 better, -1 worse, 0 no clear difference (a against b).
    ctx.metric(def.name + ".verdict", 0,
               verdict == metrics::Verdict::kBetter ? 1.0 : verdict == metrics::Verdict::kWorse ? -1.0 : 0.0);
    ctx.log_info(def.name + ": " + names[0] + " - " + names[1] + " = " + std::to_string(ab.difference.point) + " [" +
                 std::to_string(ab.difference.low) + ", " + std::to_string(ab.difference.high) + "]: " +
                 metrics::verdict_name(verdict));
    report["metrics"].push_back(entry);
  }
  const std::string path = ctx.output_path("comparison.json");
  std::ofstream(path) << report.dump(2) << "\n";
  ctx.register_output("comparison", path);
  ctx.progress(1.0, "done");
  return RF_RUN_OK;
}

}  // namespace

constexpr const char* kParamsSchema = R"json({"type":"object","properties":{
    "kind":{"type":"string","enum":["probe","report","segment","demographics"],
            "description":"which evaluation's predictions the inputs are"},
    "names":{"type":"array","items":{"type":"string"},"minItems":2,"default":["a","b","c"],
             "description":"the predictors' names, in input order; for demographics also the encoder names to read from the file"},
    "bootstrap":{"type":"integer","minimum":0,"maximum":100000,"default":1000,
                 "description":"bootstrap resamples, shared by every predictor"},
    "seed":{"type":"integer","minimum":0,"default":0}},
  "required":["kind"],
  "additionalProperties":false})json";

constexpr const char* kInputs = R"json([
  {"name":"a","description":"the first predictor's predictions (an evaluation step's predictions output)"},
  {"name":"b","description":"the second predictor's predictions, on the same test items"},
  {"name":"c","description":"a baseline's predictions, on the same test items","optional":true}])json";

constexpr const char* kOutputs = R"json([
  {"name":"comparison","description":"comparison.json: per metric each predictor's value and 95% interval, the paired interval of a - b and the verdict"}])json";

RADFLOW_PLUGIN("compare", "0.1.0",
               "Paired bootstrap comparison of two encoders (and a baseline) on the same test items: "
               "95% intervals, the interval of the difference, and better/worse only when it excludes 0.",
               kParamsSchema, kInputs, kOutputs, run)
