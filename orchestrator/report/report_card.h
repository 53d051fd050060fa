// The encoder report card (docs/report-card.md): the paper's tables and plots for one
// or several runs, as one JSON document that the API serves (GET /api/v1/report), the
// dashboard draws (#/report) and `radflow report` writes as JSON or as a self-contained
// HTML page rendered from it.
//
// Every figure is {value, low, high, metric, recorded_as, interval, source}: `value` is
// the final value the step recorded under `recorded_as` (`metric`, or for demographics
// "<encoder>.<metric>"); low/high its 95% interval, from the step's
// own report.json where the plugin wrote one (interval "step": "<metric>_ci" at the
// top for a headline metric, the item entry's auprc_ci / auroc_ci / dice_ci / iou_ci /
// f1_ci for a finding's or structure's, demographics' fields[].metrics.<m>.ci) or else
// a percentile bootstrap over its predictions artifact (interval "predictions"; probe's
// macro figures, and a step that predates its plugin's intervals); `source` indexes
// "provenance" (run, step, plugin version and sha256, checkpoint and dataset digests).
// Paired differences between encoders (reference - other, the reference being the first
// encoder of a section), for every headline metric and every finding's and structure's
// (auprc.<finding>, dice.<structure>, ...; "item" names it), come from the predictions
// artifacts with the same resamples for both encoders and all metrics
// (plugins/compare/paired_comparison.h), and say which are significant (the paired
// interval excludes 0). NaN is null throughout.
//
// Pure function of the store's contents; thread-safe as the stores are.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "orchestrator/report/evaluation_record.h"
#include "plugins/compare/paired_comparison.h"
#include "storage/artifact_store.h"
#include "storage/store.h"

namespace radflow::report {

struct ReportOptions {
  compare::PairedOptions bootstrap;  // 1000 resamples, seed 0, 95%
  // Segment overlays inline as data: URIs (for a self-contained file), at most
  // this many per evaluation; 0 lists them by artifact and path only.
  int embed_overlays = 0;
};

// The report card of `inputs` (read_evaluations). Never fails: predictions that
// cannot be read leave their intervals null and add a line to "warnings".
nlohmann::json build_report_card(const ReportInputs& inputs, const ReportOptions& options);

// read_evaluations + build_report_card. Errors: "bad_request" for no runs,
// not_found naming an unknown run.
Result<nlohmann::json> report_card_of_runs(storage::Store& store, const storage::ArtifactStore& artifacts,
                                           const std::vector<int64_t>& run_ids, const ReportOptions& options);

}  // namespace radflow::report
