// An independent recomputation of the report card's paired differences, for tests:
// reads two encoders' predictions artifacts with its own plain parsers, scores every
// metric with its own plain formulas (AUROC by counting pairs, AP by thresholds,
// means of Dice / IoU, F1 from counts, R² and MAE; BLEU-4 and ROUGE-L through the
// tokenizer and corpus_bleu4 / rouge_l of plugins/ml/metrics, which have their own
// tests), and redoes the paired percentile bootstrap: resample r draws n item indices
// of the reference's items (in file order) with Xoshiro256(seed).uniform_below(n), the
// draw bootstrap.h documents; both encoders are scored on those items (matched by
// path); a resample where either is NaN is skipped; the bounds are numpy's linear
// percentiles; significant when the interval excludes 0. Nothing of
// plugins/compare is used, so a mistake there shows up as a disagreement.
//
// Test-only; pure functions of the files.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"

namespace radflow::report::testing {

struct RecomputedDifference {
  double point = 0, low = 0, high = 0;  // reference - other
  std::string verdict;                  // "better", "worse", "no clear difference"
};

// Every metric of `kind` ("probe", "segment", "report", "demographics"; per finding and
// structure too), by the name the card uses. Demographics files hold both encoders:
// `reference_encoder` and `other_encoder` pick the lines (ignored for other kinds).
Result<std::map<std::string, RecomputedDifference>> recompute_paired_differences(
    const std::string& kind, const std::string& reference_predictions, const std::string& other_predictions,
    const std::string& reference_encoder, const std::string& other_encoder, int resamples, uint64_t seed,
    double alpha = 0.05);

}  // namespace radflow::report::testing
