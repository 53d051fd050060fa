// The segment plugin's pieces on hand-made inputs: nearest resize, mask reading,
// default structures, head shapes, the loss, and the scores' NaN and counting rules.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "plugins/ml/image/image_writer.h"
#include "plugins/segment/mask_resize.h"
#include "plugins/segment/mask_scores.h"
#include "plugins/segment/segmentation_data.h"
#include "plugins/segment/segmentation_head.h"
#include "plugins/segment/segmentation_trainer.h"

namespace radflow::segment {
namespace {
namespace fs = std::filesystem;

TEST(MaskResize, NearestKeepsLabelsAndSamplesPixelCentres) {
  // 2x2 -> 4x4 repeats each pixel as a 2x2 block; 4x4 -> 2x2 picks pixel centres.
  const std::vector<uint8_t> small = {1, 0, 0, 1};
  const std::vector<uint8_t> big = resize_nearest(small, 2, 2, 4, 4);
  EXPECT_EQ(big, (std::vector<uint8_t>{1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1}));
  EXPECT_EQ(resize_nearest(big, 4, 4, 2, 2), small);
  const std::vector<uint8_t> row = {0, 7, 0};
  EXPECT_EQ(resize_nearest(row, 1, 3, 1, 6), (std::vector<uint8_t>{0, 0, 7, 7, 0, 0}));
}

TEST(MaskReading, BinarisesAnyNonZeroAndNamesAMissingFile) {
  const std::string path = (fs::temp_directory_path() / "rf-segment-mask.png").string();
  ASSERT_TRUE(ml::write_png16(path, {0.0f, 0.2f, 1.0f, 0.0f}, 2, 2, 1).ok());
  auto mask = read_mask(path, 2, 2);
  ASSERT_TRUE(mask.ok()) << mask.status().to_string();
  EXPECT_EQ(*mask, (std::vector<uint8_t>{0, 1, 1, 0}));
  fs::remove(path);
  auto missing = read_mask(path, 2, 2);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(path), std::string::npos);
}

TEST(DefaultStructures, AreThoseInEveryTrainRow) {
  ml::eval::FeatureSet set;
  ml::eval::FeatureRow a, b, c;
  a.split = b.split = "train";
  c.split = "test";
  a.masks = {{"lungs", "x"}, {"heart", "x"}, {"effusion", "x"}};
  b.masks = {{"lungs", "x"}, {"heart", "x"}};
  c.masks = {{"lungs", "x"}};
  set.rows = {a, b, c};
  EXPECT_EQ(default_structures(set), (std::vector<std::string>{"heart", "lungs"}));
  EXPECT_TRUE(check_structures(set, {"effusion"}).ok());
  const Status unknown = check_structures(set, {"nodule"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("\"nodule\" has no mask in any row"), std::string::npos);
  EXPECT_NE(unknown.message().find("[\"effusion\",\"heart\",\"lungs\"]"), std::string::npos);
}

TEST(SegmentationHead, BothKindsMapTokenGridsToMaskSizedLogits) {
  torch::manual_seed(0);
  for (HeadKind kind : {HeadKind::kLinear, HeadKind::kFpn}) {
    HeadOptions options;
    options.kind = kind;
    options.n_layers = 3;
    options.dim = 6;
    options.n_classes = 2;
    options.fpn_channels = 4;
    options.grid_h = 3;
    options.grid_w = 5;
    options.mask_h = 12;
    options.mask_w = 20;
    SegmentationHead head(options);
    std::vector<torch::Tensor> layers(3, torch::randn({2, 6, 3, 5}));
    const auto logits = head->forward(layers);
    EXPECT_EQ(logits.sizes().vec(), (std::vector<int64_t>{2, 2, 12, 20}));
    logits.sum().backward();
    for (const auto& p : head->parameters()) EXPECT_TRUE(p.grad().defined());
  }
}

TEST(SegmentationLoss, IsLowerForTheRightMasksAndHandlesEmptyTruth) {
  auto target = torch::zeros({1, 2, 4, 4});
  target.index_put_({0, 0, torch::indexing::Slice(0, 2)}, 1);
  const auto right = (target * 2 - 1) * 10;
  const auto wrong = -right;
  EXPECT_LT(segmentation_loss(right, target).item<double>(), 0.01);
  EXPECT_GT(segmentation_loss(wrong, target).item<double>(), 5.0);
  // Structure 1 is empty and predicted empty: its Dice term is ~0, not NaN.
  EXPECT_TRUE(std::isfinite(segmentation_loss(right, target).item<double>()));
  EXPECT_DOUBLE_EQ(mean_image_dice((target > 0).to(torch::kUInt8), (target > 0).to(torch::kUInt8)), 1.0);
}

TEST(MaskScores, AverageImagesAndReportNaNForAStructureEmptyInEveryTruth) {
  // Two images, two structures, 4 pixels each.
  const std::vector<uint8_t> pred = {1, 1, 0, 0, /*s1*/ 1, 0, 0, 0,  // image 0
                                     1, 0, 0, 0, /*s1*/ 0, 0, 0, 0};  // image 1
  const std::vector<uint8_t> truth = {1, 0, 0, 0, /*s1*/ 0, 0, 0, 0,
                                      1, 0, 0, 0, /*s1*/ 0, 0, 0, 0};
  const MaskScores scores = score_masks(pred.data(), truth.data(), 2, {"a", "b"}, 4, 20, 3);
  const StructureScore& a = scores.structures[0];
  EXPECT_DOUBLE_EQ(a.dice, (2.0 / 3.0 + 1.0) / 2);
  EXPECT_DOUBLE_EQ(a.iou, (0.5 + 1.0) / 2);
  EXPECT_EQ(a.counts[0].pred, 2);
  EXPECT_EQ(a.counts[0].truth, 1);
  EXPECT_EQ(a.counts[0].intersection, 1);
  EXPECT_EQ(a.counts[0].union_pixels, 2);
  EXPECT_EQ(a.images_with_structure, 2);
  EXPECT_LE(a.dice_ci.low, a.dice);
  EXPECT_GE(a.dice_ci.high, a.dice);
  const StructureScore& b = scores.structures[1];
  EXPECT_TRUE(std::isnan(b.dice));
  EXPECT_TRUE(std::isnan(b.iou));
  EXPECT_NE(b.warning.find("\"b\" is empty in every test mask"), std::string::npos);
  EXPECT_EQ(scores.mean_count, 1);
  EXPECT_DOUBLE_EQ(scores.mean_dice, a.dice);
  // The means' intervals cover the scored structure only.
  EXPECT_LE(scores.mean_iou_ci.low, scores.mean_iou);
  EXPECT_GE(scores.mean_iou_ci.high, scores.mean_iou);
  EXPECT_GT(scores.mean_iou_ci.n_valid, 0);
}

TEST(MaskScores, MeanDiceAndIouIntervalsBootstrapEachImagesMeanOverStructures) {
  // Four images, two structures of 2 pixels each; every structure present somewhere.
  const std::vector<uint8_t> pred = {1, 0, 1, 1, /**/ 1, 1, 0, 1, /**/ 0, 1, 1, 0, /**/ 1, 0, 0, 0};
  const std::vector<uint8_t> truth = {1, 1, 1, 1, /**/ 1, 0, 0, 1, /**/ 0, 1, 1, 1, /**/ 1, 0, 1, 0};
  const int resamples = 200;
  const uint64_t seed = 5;
  const MaskScores scores = score_masks(pred.data(), truth.data(), 4, {"a", "b"}, 2, resamples, seed);
  ASSERT_EQ(scores.mean_count, 2);
  std::vector<double> image_dice, image_iou;
  for (int i = 0; i < 4; ++i) {
    image_dice.push_back((scores.structures[0].image_dice[i] + scores.structures[1].image_dice[i]) / 2);
    image_iou.push_back((scores.structures[0].image_iou[i] + scores.structures[1].image_iou[i]) / 2);
  }
  auto mean = [](const std::vector<double>& v, const std::vector<int>&) {
    double sum = 0;
    for (double x : v) sum += x;
    return sum / static_cast<double>(v.size());
  };
  const std::vector<int> unused(4, 0);
  // The shared bootstrap over images, seeded after the per-structure ones.
  const auto dice_ci = ml::metrics::bootstrap_ci(mean, image_dice, unused, resamples, 0.05, seed + 4);
  const auto iou_ci = ml::metrics::bootstrap_ci(mean, image_iou, unused, resamples, 0.05, seed + 5);
  EXPECT_DOUBLE_EQ(scores.mean_dice_ci.low, dice_ci.low);
  EXPECT_DOUBLE_EQ(scores.mean_dice_ci.high, dice_ci.high);
  EXPECT_DOUBLE_EQ(scores.mean_iou_ci.low, iou_ci.low);
  EXPECT_DOUBLE_EQ(scores.mean_iou_ci.high, iou_ci.high);
  EXPECT_NEAR(mean(image_iou, unused), scores.mean_iou, 1e-12);  // the interval is around the reported mean
  EXPECT_LT(scores.mean_iou_ci.low, scores.mean_iou_ci.high);
  // No scored structure: NaN bounds.
  const std::vector<uint8_t> empty(16, 0);
  const MaskScores none = score_masks(empty.data(), empty.data(), 4, {"a", "b"}, 2, resamples, seed);
  EXPECT_TRUE(std::isnan(none.mean_iou_ci.low) && std::isnan(none.mean_dice_ci.high));
}

}  // namespace
}  // namespace radflow::segment
