// The comparison of several encoders that demographic-correlation reports: one row
// per (field, metric), one column per encoder, each encoder ranked per row, and an
// overall ranking by mean rank over the fields' headline metrics (AUROC for
// categorical fields, R² for numeric ones).
//
// comparison_table() gives the JSON form (report.json's "table"); table_markdown()
// renders it as a Markdown table (the `table` output). Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "plugins/demographic-correlation/field_probe.h"

namespace radflow::ml::demographic {

struct EncoderResults {
  std::string name;                 // the label the user gave, or the feature set's encoder
  std::vector<FieldResult> fields;  // same fields, same order, for every encoder
};

// {"encoders": [names], "rows": [{"field", "metric", "higher_is_better", "headline",
//   "values": {encoder: {"value", "ci": [low, high]}} (null when NaN),
//   "ranks": {encoder: rank or null}, "best": encoder or null}],
//  "mean_rank": {encoder: number or null}, "ranking": [encoders, best first]}
// Ranks start at 1 for the best value; ties share their average rank; NaN is unranked.
nlohmann::json comparison_table(const std::vector<EncoderResults>& encoders);

std::string table_markdown(const nlohmann::json& table);

}  // namespace radflow::ml::demographic
