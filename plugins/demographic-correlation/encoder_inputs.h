// The feature sets demographic-correlation compares: up to kMaxEncoders, bound to the
// inputs "features", "features_2", ..., "features_8", each labelled for the report.
//
// A label is, in order of preference: the matching entry of the `names` param (one
// per bound input, in input order), the feature set's meta "encoder", the input
// name. A label that repeats an earlier one (two sets from the same encoder name)
// gets "_<k>" appended, k the input's number.
//
// Every feature set must describe the same rows (same count, same path and split at
// each position), since the record fields are read from the first one.
//
// Plain data and pure functions (besides reading the folders); thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "plugins/ml/eval/feature_set.h"

namespace radflow::ml::demographic {

constexpr int kMaxEncoders = 8;

struct EncoderInput {
  std::string input;  // "features", "features_2", ...
  std::string name;   // the label used in metrics, the report and the table
  eval::FeatureSet set;
};

// "features", "features_2", ..., "features_<kMaxEncoders>".
std::vector<std::string> feature_input_names();

// bound: (input, folder) pairs in input order; names: empty or one per bound input.
// Errors: "invalid_param" (names of the wrong length, or repeated), the feature set
// reader's own error prefixed with the input's name.
Result<std::vector<EncoderInput>> load_encoders(
    const std::vector<std::pair<std::string, std::string>>& bound, const std::vector<std::string>& names);

// "rows_mismatch", naming both inputs and the first row that differs.
Status check_rows_agree(const std::vector<EncoderInput>& encoders);

}  // namespace radflow::ml::demographic
