// Ablation curves of the report card: when a run comes from one of the paper's
// ablation workflows (workflows/ablation-*.json, told by the workflow's name), each
// probe and segmentation figure of its encoders against what the ablation varies:
//   ablation-resolution  the features step's image_size (pixels)
//   ablation-data-scale  the pretrain step's train_fraction
//   ablation-init        the pretrain step's init_checkpoint: continued or random init
// Pure function; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "orchestrator/report/evaluation_record.h"

namespace radflow::report {

// `sections` as build_report_card makes them (rows with figures and a source index
// into inputs.evaluations). One entry per ablation run:
//   {run_id, workflow, axis, numeric, curves: [{section, metric, label,
//    points: [{x, encoder, value, low, high, source}]}]}, points in x order.
nlohmann::json ablation_curves(const ReportInputs& inputs, const nlohmann::json& sections);

}  // namespace radflow::report
