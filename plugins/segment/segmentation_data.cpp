#include "plugins/segment/segmentation_data.h"

#include <algorithm>
#include <filesystem>

#include "plugins/ml/image/image_reader.h"
#include "plugins/segment/mask_resize.h"

namespace radflow::segment {

std::vector<std::string> default_structures(const ml::eval::FeatureSet& set) {
  std::vector<std::string> common;
  bool first = true;
  for (const auto& row : set.rows) {
    if (row.split != "train") continue;
    std::vector<std::string> names;
    for (const auto& [name, path] : row.masks) names.push_back(name);  // std::map: sorted
    if (first) {
      common = names;
      first = false;
    } else {
      std::vector<std::string> both;
      std::set_intersection(common.begin(), common.end(), names.begin(), names.end(),
                            std::back_inserter(both));
      common = both;
    }
  }
  return common;
}

Status check_structures(const ml::eval::FeatureSet& set, const std::vector<std::string>& structures) {
  for (const auto& structure : structures) {
    const bool found = std::any_of(set.rows.begin(), set.rows.end(), [&](const auto& row) {
      return row.masks.count(structure) > 0;
    });
    if (!found) {
      std::vector<std::string> known;
      for (const auto& row : set.rows) {
        for (const auto& [name, path] : row.masks) {
          if (std::find(known.begin(), known.end(), name) == known.end()) known.push_back(name);
        }
      }
      std::sort(known.begin(), known.end());
      return Status::error("segment_invalid_input",
                           "structure \"" + structure + "\" has no mask in any row of the feature set (masks: " +
                               nlohmann::json(known).dump() + ")");
    }
  }
  return Status();
}

Result<std::vector<uint8_t>> read_mask(const std::string& path, int64_t out_rows, int64_t out_cols) {
  if (!std::filesystem::exists(path)) {
    return Status::error("segment_invalid_input", "mask file " + path + " does not exist", path);
  }
  RF_ASSIGN_OR_RETURN(ml::Image image, ml::read_image(path));
  const int samples = image.samples_per_pixel;
  std::vector<uint8_t> binary(static_cast<size_t>(image.rows) * image.cols, 0);
  for (size_t i = 0; i < binary.size(); ++i) {
    for (int s = 0; s < samples; ++s) {
      if (image.pixels[i * samples + s] > 0) binary[i] = 1;
    }
  }
  return resize_nearest(binary, image.rows, image.cols, out_rows, out_cols);
}

Result<SegmentationSplit> load_split(const ml::eval::FeatureSet& set, const std::string& split,
                                     const std::vector<int64_t>& layers,
                                     const std::vector<std::string>& structures, int64_t mask_h,
                                     int64_t mask_w) {
  SegmentationSplit out;
  for (size_t i = 0; i < set.rows.size(); ++i) {
    if (set.rows[i].split == split) out.rows.push_back(i);
  }
  const int64_t n = out.size();
  std::vector<int64_t> index(out.rows.begin(), out.rows.end());
  const auto rows = torch::tensor(index, torch::kInt64);
  for (int64_t layer : layers) {
    const torch::Tensor& tokens = set.patch_tokens.at(layer);  // [N, P, D]
    out.layers.push_back(tokens.index_select(0, rows)
                             .view({n, set.grid_h, set.grid_w, tokens.size(2)})
                             .permute({0, 3, 1, 2})
                             .contiguous());
  }
  const int64_t n_structures = static_cast<int64_t>(structures.size());
  out.masks = torch::zeros({n, n_structures, mask_h, mask_w}, torch::kUInt8);
  uint8_t* data = out.masks.data_ptr<uint8_t>();
  for (int64_t r = 0; r < n; ++r) {
    const auto& masks = set.rows[out.rows[r]].masks;
    for (int64_t s = 0; s < n_structures; ++s) {
      auto it = masks.find(structures[s]);
      if (it == masks.end()) continue;
      RF_ASSIGN_OR_RETURN(std::vector<uint8_t> mask, read_mask(it->second, mask_h, mask_w));
      std::copy(mask.begin(), mask.end(), data + (r * n_structures + s) * mask_h * mask_w);
    }
  }
  return out;
}

}  // namespace radflow::segment
