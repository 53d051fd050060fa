#include <numeric>
#include <set>

#include <gtest/gtest.h>

#include "plugins/ml/ssl/block_mask_generator.h"
#include "plugins/ml/ssl/mask_collate.h"

namespace radflow::ml::ssl {
namespace {

int64_t count(const std::vector<uint8_t>& mask) { return std::accumulate(mask.begin(), mask.end(), int64_t{0}); }

TEST(BlockMaskGenerator, DinoV2MaxBlockPatchesPrecedence) {
  EXPECT_EQ(dinov2_max_block_patches(224, 14), 128);
  EXPECT_EQ(dinov2_max_block_patches(518, 14), 666);
  EXPECT_EQ(dinov2_max_block_patches(56, 14), 8);
}

TEST(BlockMaskGenerator, CountsNeverOvershootAndUsuallyHitTarget) {
  const BlockMaskGenerator gen(BlockMaskOptions{16, 16});
  SslRng rng(7);
  int64_t exact = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t target = rng.randint(4, 128);
    const auto mask = gen.generate(target, rng);
    ASSERT_EQ(mask.size(), 256u);
    const int64_t c = count(mask);
    EXPECT_LE(c, target);
    EXPECT_GT(c, 0);
    exact += c == target;
  }
  EXPECT_GT(exact, 100);  // falling short is the exception
}

TEST(BlockMaskGenerator, ZeroTargetIsEmptyAndBlocksMustBeSmallerThanGrid) {
  SslRng rng(1);
  const BlockMaskGenerator gen(BlockMaskOptions{4, 4});
  EXPECT_EQ(count(gen.generate(0, rng)), 0);
  // On a 2x2 grid only 1x1 blocks are strictly smaller, but every block has area >= 4.
  const BlockMaskGenerator tiny(BlockMaskOptions{2, 2});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(count(tiny.generate(2, rng)), 0);
}

TEST(BlockMaskGenerator, DeterministicForSeed) {
  const BlockMaskGenerator gen(BlockMaskOptions{8, 8});
  SslRng a(42), b(42), c(43);
  const auto ma = gen.generate(20, a), mb = gen.generate(20, b);
  EXPECT_EQ(ma, mb);
  bool any_diff = false;
  SslRng a2(42);
  for (int i = 0; i < 5; ++i) any_diff |= gen.generate(20, a2) != gen.generate(20, c);
  EXPECT_TRUE(any_diff);
}

TEST(MaskCollate, StratifiedRatiosHalfTheCropsAndWeights) {
  const BlockMaskGenerator gen(BlockMaskOptions{16, 16});
  SslRng rng(3);
  const MaskBatch batch = collate_masks(16, gen, MaskCollateOptions{}, rng);
  ASSERT_EQ(batch.masks.sizes(), (std::vector<int64_t>{16, 256}));
  int64_t masked_crops = 0, upper = 0;
  std::set<int64_t> bins;
  for (int64_t c = 0; c < 16; ++c) {
    const int64_t n = batch.masks[c].sum().item<int64_t>();
    if (batch.ratios[c] == 0.0) {
      EXPECT_EQ(n, 0);
      continue;
    }
    ++masked_crops;
    EXPECT_GE(batch.ratios[c], batch.bin_low[c]);
    EXPECT_LT(batch.ratios[c], batch.bin_high[c]);
    EXPECT_NEAR(batch.bin_high[c] - batch.bin_low[c], 0.05, 1e-12);  // (0.5 - 0.1) / 8
    bins.insert(static_cast<int64_t>(std::lround((batch.bin_low[c] - 0.1) / 0.05)));
    EXPECT_EQ(batch.targets[c], static_cast<int64_t>(256 * batch.ratios[c]));
    EXPECT_LE(n, batch.targets[c]);
    EXPECT_GT(n, 0);
    upper += static_cast<int64_t>(256 * batch.bin_high[c]);
  }
  EXPECT_EQ(masked_crops, 8);
  EXPECT_EQ(bins.size(), 8u);  // one crop per bin
  EXPECT_EQ(batch.upperbound, upper);
  EXPECT_EQ(batch.n_masked_patches, batch.masks.sum().item<int64_t>());
  EXPECT_TRUE(torch::equal(batch.mask_indices, batch.masks.flatten().nonzero().flatten()));
  // Weights: 1 / count of the patch's crop, so they sum to the number of masked crops.
  EXPECT_NEAR(batch.masks_weight.sum().item<double>(), 8.0, 1e-5);
  const int64_t first = batch.mask_indices[0].item<int64_t>() / 256;
  EXPECT_FLOAT_EQ(batch.masks_weight[0].item<float>(), 1.0f / batch.masks[first].sum().item<float>());
}

TEST(MaskCollate, ShuffledAndDeterministic) {
  const BlockMaskGenerator gen(BlockMaskOptions{4, 4});
  SslRng a(11), b(11);
  const MaskBatch x = collate_masks(16, gen, MaskCollateOptions{}, a);
  const MaskBatch y = collate_masks(16, gen, MaskCollateOptions{}, b);
  EXPECT_TRUE(torch::equal(x.masks, y.masks));
  EXPECT_EQ(x.ratios, y.ratios);
  // Masked crops are not simply the first half after the shuffle.
  bool first_half_only = true;
  for (int64_t c = 8; c < 16; ++c) first_half_only &= x.ratios[c] == 0.0;
  EXPECT_FALSE(first_half_only);
}

// A rank's share of the global batch's masks: rows picked, indices and weights
// recomputed for the subset, per-crop draws carried along.
TEST(MaskCollate, SelectCropsKeepsTheRowsAndRecomputesIndicesAndWeights) {
  const BlockMaskGenerator gen(BlockMaskOptions{16, 16});
  SslRng rng(17);
  const MaskBatch all = collate_masks(8, gen, MaskCollateOptions{}, rng);
  const torch::Tensor rows = torch::tensor(std::vector<int64_t>{1, 2, 5, 6});  // images 1, 2 of 4, both crops
  const MaskBatch part = select_crops(all, rows);
  EXPECT_TRUE(torch::equal(part.masks, all.masks.index_select(0, rows)));
  EXPECT_EQ(part.n_masked_patches, part.masks.sum().item<int64_t>());
  EXPECT_TRUE(torch::equal(part.mask_indices, part.masks.flatten().nonzero().flatten()));
  EXPECT_TRUE(torch::equal(part.masks_weight, ibot_masks_weight(part.masks)));
  ASSERT_EQ(part.ratios.size(), 4u);
  EXPECT_EQ(part.ratios[2], all.ratios[5]);
  EXPECT_EQ(part.targets[3], all.targets[6]);
  // The two halves together account for every masked patch and the whole bound.
  const MaskBatch rest = select_crops(all, torch::tensor(std::vector<int64_t>{0, 3, 4, 7}));
  EXPECT_EQ(part.n_masked_patches + rest.n_masked_patches, all.n_masked_patches);
  EXPECT_EQ(part.upperbound + rest.upperbound, all.upperbound);
  // Selecting every row in order is the identity.
  const MaskBatch same = select_crops(all, torch::arange(8, torch::kLong));
  EXPECT_TRUE(torch::equal(same.mask_indices, all.mask_indices));
  EXPECT_TRUE(torch::equal(same.masks_weight, all.masks_weight));
}

TEST(MaskCollate, OddCropCountFloorsAndProbabilityZeroMasksNothing) {
  const BlockMaskGenerator gen(BlockMaskOptions{8, 8});
  SslRng rng(5);
  const MaskBatch odd = collate_masks(5, gen, MaskCollateOptions{}, rng);
  int64_t masked = 0;
  for (double r : odd.ratios) masked += r > 0;
  EXPECT_EQ(masked, 2);
  MaskCollateOptions none;
  none.mask_probability = 0.0;
  const MaskBatch empty = collate_masks(4, gen, none, rng);
  EXPECT_EQ(empty.n_masked_patches, 0);
  EXPECT_EQ(empty.masks_weight.numel(), 0);
}

}  // namespace
}  // namespace radflow::ml::ssl
