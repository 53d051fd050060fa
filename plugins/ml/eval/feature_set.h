// FeatureSet: frozen-encoder features of a dataset, computed once per encoder and
// dataset and read by every evaluation plugin (probe, demographic-correlation, ...).
//
// On disk, a folder:
//   features.safetensors  "cls" [N, D] and "mean_patch" [N, D], float32; with patch
//                         tokens also "cls_layer_<k>" [N, D], block k's CLS token
//                         (after the final norm), for the probe's last-blocks features
//   patches.safetensors   optional: "layer_<k>" [N, P, D] float32, the patch tokens of
//                         block k (0-based; after the final norm for the last block),
//                         P = grid_h * grid_w in row-major order
//   rows.jsonl            one JSON object per row, in tensor row order:
//                         {"path", "split", "labels": {finding: 0|1}, "age", "sex",
//                          "report", "masks": {structure: absolute path}, "extra": {}}
//   meta.json             {"encoder": ..., "image_size": ..., "dim": D, "grid": [h, w],
//                          "patch_layers": [k, ...], ...}
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
  std::string report;                         // free text; empty when unknown
  std::map<std::string, std::string> masks;   // structure -> absolute mask path
  nlohmann::json extra = nlohmann::json::object();
};

struct FeatureSet {
  torch::Tensor cls;         // [N, D] float32
  torch::Tensor mean_patch;  // [N, D] float32
  // Optional patch tokens: block index -> [N, P, D] float32; grid_h * grid_w == P.
  std::map<int64_t, torch::Tensor> patch_tokens;
  // Optional, small, always read: block index -> [N, D] CLS token of that block.
  std::map<int64_t, torch::Tensor> layer_cls;
  int64_t grid_h = 0, grid_w = 0;
  std::vector<FeatureRow> rows;
  nlohmann::json meta = nlohmann::json::object();

  // Every finding named in any row, sorted.
  std::vector<std::string> findings() const;
};

Status write_feature_set(const std::string& dir, const FeatureSet& set);
// Errors name the file and line: "feature_set_invalid". Patch tokens are read only
// when `with_patch_tokens` (they can be large); a set written without them then reads
// back with an empty map.
Result<FeatureSet> read_feature_set(const std::string& dir, bool with_patch_tokens = false);

}  // namespace radflow::ml::eval
