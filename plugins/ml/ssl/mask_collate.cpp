#include "plugins/ml/ssl/mask_collate.h"

#include <cmath>

#include "common/check.h"

namespace radflow::ml::ssl {

MaskBatch select_crops(const MaskBatch& batch, const torch::Tensor& crop_rows) {
  RF_CHECK(crop_rows.dim() == 1 && crop_rows.scalar_type() == torch::kLong,
           "select_crops: crop_rows must be an int64 vector");
  MaskBatch out;
  out.masks = batch.masks.index_select(0, crop_rows);
  out.mask_indices = out.masks.flatten().nonzero().flatten();
  out.masks_weight = ibot_masks_weight(out.masks);
  out.n_masked_patches = out.mask_indices.size(0);
  const int64_t n_patches = batch.masks.size(1);
  const auto rows = crop_rows.accessor<int64_t, 1>();
  for (int64_t i = 0; i < rows.size(0); ++i) {
    const auto c = static_cast<size_t>(rows[i]);
    RF_CHECK(c < batch.ratios.size(), "select_crops: crop index out of range");
    out.ratios.push_back(batch.ratios[c]);
    out.bin_low.push_back(batch.bin_low[c]);
    out.bin_high.push_back(batch.bin_high[c]);
    out.targets.push_back(batch.targets[c]);
    // Unmasked crops have an empty bin [0, 0]: they add nothing, as in collate_masks.
    out.upperbound += static_cast<int64_t>(std::floor(static_cast<double>(n_patches) * batch.bin_high[c]));
  }
  return out;
}

torch::Tensor ibot_masks_weight(const torch::Tensor& masks) {
  RF_CHECK(masks.dim() == 2, "ibot_masks_weight: masks must be [n_crops, N]");
  const torch::Tensor m = masks.to(torch::kBool);
  const torch::Tensor per_crop = 1.0 / m.sum(-1).clamp_min(1).to(torch::kFloat);
  return per_crop.unsqueeze(-1).expand_as(m).masked_select(m);
}

MaskBatch collate_masks(int64_t n_crops, const BlockMaskGenerator& generator,
                        const MaskCollateOptions& options, SslRng& rng) {
  RF_CHECK(n_crops > 0, "collate_masks: no crops");
  RF_CHECK(options.mask_probability >= 0 && options.mask_probability <= 1,
           "collate_masks: mask_probability outside [0, 1]");
  RF_CHECK(options.ratio_min >= 0 && options.ratio_min <= options.ratio_max && options.ratio_max <= 1,
           "collate_masks: bad ratio range");
  const int64_t n_patches = generator.num_patches();
  const auto n_masked = static_cast<int64_t>(std::floor(static_cast<double>(n_crops) * options.mask_probability));

  struct Entry {
    std::vector<uint8_t> mask;
    double ratio = 0, low = 0, high = 0;
    int64_t target = 0;
  };
  std::vector<Entry> entries;
  entries.reserve(static_cast<size_t>(n_crops));
  MaskBatch batch;
  const double step = n_masked > 0 ? (options.ratio_max - options.ratio_min) / static_cast<double>(n_masked) : 0.0;
  for (int64_t i = 0; i < n_masked; ++i) {
    Entry e;
    e.low = options.ratio_min + step * static_cast<double>(i);
    e.high = i + 1 == n_masked ? options.ratio_max : options.ratio_min + step * static_cast<double>(i + 1);
    e.ratio = rng.uniform(e.low, e.high);
    e.target = static_cast<int64_t>(std::floor(static_cast<double>(n_patches) * e.ratio));
    e.mask = generator.generate(e.target, rng);
    batch.upperbound += static_cast<int64_t>(std::floor(static_cast<double>(n_patches) * e.high));
    entries.push_back(std::move(e));
  }
  for (int64_t i = n_masked; i < n_crops; ++i) {
    Entry e;
    e.mask.assign(static_cast<size_t>(n_patches), 0);
    entries.push_back(std::move(e));
  }
  rng.shuffle(entries);

  batch.masks = torch::zeros({n_crops, n_patches}, torch::kBool);
  auto acc = batch.masks.accessor<bool, 2>();
  for (int64_t c = 0; c < n_crops; ++c) {
    const Entry& e = entries[static_cast<size_t>(c)];
    for (int64_t p = 0; p < n_patches; ++p) acc[c][p] = e.mask[static_cast<size_t>(p)] != 0;
    batch.ratios.push_back(e.ratio);
    batch.bin_low.push_back(e.low);
    batch.bin_high.push_back(e.high);
    batch.targets.push_back(e.target);
  }
  batch.mask_indices = batch.masks.flatten().nonzero().flatten();
  batch.masks_weight = ibot_masks_weight(batch.masks);
  batch.n_masked_patches = batch.mask_indices.size(0);
  return batch;
}

}  // namespace radflow::ml::ssl
