// Paired comparison of two predictors on the same test items: for every metric of
// their kind, each one's percentile bootstrap interval and the interval of the
// difference a - b from one set of resamples, and the verdict (better / worse only
// when that interval excludes 0). The compare plugin and the report card
// (orchestrator/report) both judge encoders with this code, so a difference the
// report shows equals the one a compare step with the same resamples and seed logs.
//
// Pure functions of their arguments; thread-safe when the EvaluatedItems are.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "plugins/compare/evaluated_items.h"
#include "plugins/ml/metrics/bootstrap.h"

namespace radflow::compare {

struct PairedOptions {
  int resamples = 1000;  // shared by both predictors: resample r feeds both the same items
  double alpha = 0.05;   // 95% intervals
  uint64_t seed = 0;
};

struct MetricComparison {
  MetricDef metric;
  ml::metrics::PairedBootstrap paired;  // a, b and the difference a - b
  ml::metrics::Verdict verdict = ml::metrics::Verdict::kNoClearDifference;
};

// For each of a's items, the index of the same path among b's items. Error
// "compare_input" (naming `a_label` and `b_label`) when the two cover other items: a
// paired comparison needs the same items.
Result<std::vector<size_t>> align_items(const EvaluatedItems& a, const EvaluatedItems& b,
                                        const std::string& a_label, const std::string& b_label);

// Every metric of a against b (b aligned to a by align_items, b's metrics matched to
// a's by name), in a's metric order; every metric's resamples are the same item lists.
// Error "compare_input" also when the two have different metrics (other findings).
Result<std::vector<MetricComparison>> compare_paired(const EvaluatedItems& a, const EvaluatedItems& b,
                                                     const std::string& a_label,
                                                     const std::string& b_label,
                                                     const PairedOptions& options);

// One predictor's interval of every metric, over the resamples compare_paired draws
// for the same options (the same items in each resample).
std::vector<ml::metrics::BootstrapInterval> intervals_of(const EvaluatedItems& items,
                                                         const PairedOptions& options);

}  // namespace radflow::compare
