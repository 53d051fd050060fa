#include "plugins/ml/metrics/mask_overlap.h"

#include <gtest/gtest.h>

namespace radflow::ml::metrics {
namespace {

TEST(MaskOverlap, BinaryHandComputed) {
  // pred {0,1,2}, truth {1,2,3,4}: |P∩T| = 2, |P| = 3, |T| = 4, |P∪T| = 5.
  const std::vector<uint8_t> pred = {1, 1, 1, 0, 0, 0};
  const std::vector<uint8_t> truth = {0, 1, 1, 1, 1, 0};
  EXPECT_DOUBLE_EQ(dice(pred, truth), 4.0 / 7.0);
  EXPECT_DOUBLE_EQ(iou(pred, truth), 2.0 / 5.0);
}

TEST(MaskOverlap, NonZeroBytesAreForeground) {
  EXPECT_DOUBLE_EQ(dice({255, 0, 7}, {1, 0, 1}), 1.0);
}

TEST(MaskOverlap, DiceAndIouAreRelated) {
  const std::vector<uint8_t> pred = {1, 0, 1, 1, 0, 1, 0, 0};
  const std::vector<uint8_t> truth = {1, 1, 0, 1, 0, 1, 1, 0};
  const double j = iou(pred, truth);
  EXPECT_NEAR(dice(pred, truth), 2 * j / (1 + j), 1e-15);
}

TEST(MaskOverlap, EmptyConventions) {
  EXPECT_DOUBLE_EQ(dice({0, 0, 0}, {0, 0, 0}), 1.0);
  EXPECT_DOUBLE_EQ(iou({0, 0, 0}, {0, 0, 0}), 1.0);
  EXPECT_DOUBLE_EQ(dice({}, {}), 1.0);
  EXPECT_DOUBLE_EQ(dice({0, 1, 0}, {0, 0, 0}), 0.0);
  EXPECT_DOUBLE_EQ(iou({0, 0, 0}, {1, 0, 0}), 0.0);
}

TEST(MaskOverlap, PerClassLabelMaps) {
  const std::vector<int32_t> pred = {0, 0, 1, 1, 2, 2};
  const std::vector<int32_t> truth = {0, 1, 1, 1, 2, 0};
  // class 0: P{0,1} T{0,5} ∩1; class 1: P{2,3} T{1,2,3} ∩2; class 2: P{4,5} T{4} ∩1;
  // class 3: absent from both -> 1.0.
  const std::vector<double> d = dice_per_class(pred, truth, 4);
  ASSERT_EQ(d.size(), 4u);
  EXPECT_DOUBLE_EQ(d[0], 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(d[1], 4.0 / 5.0);
  EXPECT_DOUBLE_EQ(d[2], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(d[3], 1.0);
  const std::vector<double> j = iou_per_class(pred, truth, 4);
  EXPECT_DOUBLE_EQ(j[0], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(j[1], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(j[2], 1.0 / 2.0);
  EXPECT_DOUBLE_EQ(j[3], 1.0);
}

TEST(MaskOverlap, OutOfRangeIdsAreIgnored) {
  // 255 (an ignore value) in both maps at index 2 and -1 in pred at index 3 count
  // towards no class; class 1 loses a truth pixel at index 3.
  const std::vector<int32_t> pred = {0, 1, 255, -1};
  const std::vector<int32_t> truth = {0, 1, 255, 1};
  const std::vector<double> d = dice_per_class(pred, truth, 2);
  EXPECT_DOUBLE_EQ(d[0], 1.0);
  EXPECT_DOUBLE_EQ(d[1], 2.0 / 3.0);
}

TEST(MaskOverlap, OneEmptyClassIsZero) {
  const std::vector<double> d = dice_per_class({0, 0, 0}, {0, 0, 1}, 2);
  EXPECT_DOUBLE_EQ(d[1], 0.0);
  EXPECT_DOUBLE_EQ(d[0], 4.0 / 5.0);
}

}  // namespace
}  // namespace radflow::ml::metrics
