// FeatureTable: one tensor of a radflow feature set (the `features` step's output
// folder, docs/evaluation.md) with its rows: features.safetensors holds float32
// [N, D] tensors ("cls", "mean_patch"), rows.jsonl one JSON object per tensor row
// ({"path", "split", "labels": {finding: 0|1}, ...}).
// read_feature_table throws std::runtime_error naming the file and what is wrong.
// Plain data; no threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace knn {

struct FeatureRow {
  std::string path;
  std::string split;
  std::map<std::string, int> labels;  // finding -> 0 or 1
};

struct FeatureTable {
  int64_t rows = 0, dim = 0;
  std::vector<float> values;  // rows * dim, row-major
  std::vector<FeatureRow> row_info;
};

// `tensor`: "cls" or "mean_patch"; "cls+mean" concatenates the two, as the probe does.
FeatureTable read_feature_table(const std::string& dir, const std::string& tensor);

}  // namespace knn
