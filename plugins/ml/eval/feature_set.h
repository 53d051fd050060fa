// FeatureSet: frozen-encoder features of a dataset, computed once per encoder and
// dataset and read by every evaluation plugin (probe, demographic-correlation, ...).
//
// On disk, a folder:
//   features.safetensors  "cls" [N, D] and "mean_patch" [N, D], float32
//   rows.jsonl            one JSON object per row, in tensor row order:
//                         {"path", "split", "labels": {finding: 0|1}, "age", "sex", "extra": {}}
//   meta.json             {"encoder": ..., "image_size": ..., "dim": D, ...}
// Plain data; no threads.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace radflow::ml::eval {

struct FeatureRow {
  std::string path;
  std::string split;  // train, val or test
  std::map<std::string, int> labels;
  std::optional<double> age;
  std::string sex;    // "F", "M" or empty
  nlohmann::json extra = nlohmann::json::object();
};

struct FeatureSet {
  torch::Tensor cls;         // [N, D] float32
  torch::Tensor mean_patch;  // [N, D] float32
  std::vector<FeatureRow> rows;
  nlohmann::json meta = nlohmann::json::object();

  // Every finding named in any row, sorted.
  std::vector<std::string> findings() const;
};

Status write_feature_set(const std::string& dir, const FeatureSet& set);
// Errors name the file and line: "feature_set_invalid".
Result<FeatureSet> read_feature_set(const std::string& dir);

}  // namespace radflow::ml::eval
