#include "plugins/ml/ssl/multicrop_augmentation.h"

#include <gtest/gtest.h>

namespace radflow::ml::ssl {
namespace {

MultiCropOptions small() {
  MultiCropOptions o;
  o.global_crop_size = 28;
  o.local_crop_size = 14;
  o.n_local_crops = 3;
  return o;
}

// Every random photometric step off: crops are resize + normalise only.
MultiCropOptions plain() {
  MultiCropOptions o = small();
  o.flip_probability = 0;
  o.jitter_probability = 0;
  o.blur_probability_global1 = o.blur_probability_global2 = o.blur_probability_local = 0;
  o.solarize_probability_global2 = 0;
  return o;
}

torch::Tensor test_image() {
  torch::manual_seed(0);
  return torch::rand({1, 40, 50});
}

TEST(MultiCrop, ShapesAndDeterminismForSeed) {
  const MultiCropAugmentation aug(small());
  SslRng a(5), b(5), c(6);
  const MultiCrops x = aug(test_image(), a), y = aug(test_image(), b), z = aug(test_image(), c);
  EXPECT_EQ(x.global_crops.sizes(), (std::vector<int64_t>{2, 1, 28, 28}));
  EXPECT_EQ(x.local_crops.sizes(), (std::vector<int64_t>{3, 1, 14, 14}));
  EXPECT_TRUE(torch::equal(x.global_crops, y.global_crops));
  EXPECT_TRUE(torch::equal(x.local_crops, y.local_crops));
  EXPECT_FALSE(torch::equal(x.global_crops, z.global_crops));

  MultiCropOptions three = small();
  three.out_channels = 3;
  SslRng d(5);
  const MultiCrops rgb = MultiCropAugmentation(three)(test_image(), d);
  EXPECT_EQ(rgb.global_crops.size(1), 3);
  EXPECT_TRUE(torch::equal(rgb.global_crops.select(1, 0), rgb.global_crops.select(1, 2)));
}

TEST(MultiCrop, CropBoxesRespectScaleAndBounds) {
  SslRng rng(1);
  for (int i = 0; i < 200; ++i) {
    const CropBox b = sample_crop_box(100, 80, 0.05, 0.32, 0.75, 4.0 / 3.0, rng);
    ASSERT_GE(b.top, 0);
    ASSERT_GE(b.left, 0);
    ASSERT_LE(b.top + b.height, 100);
    ASSERT_LE(b.left + b.width, 80);
    const double frac = static_cast<double>(b.height * b.width) / 8000.0;
    // Rounding of the sides moves the area a little around the drawn scale.
    EXPECT_GT(frac, 0.04);
    EXPECT_LT(frac, 0.36);
  }
  // Impossible scale: the fallback is the central crop clamped to the ratio range.
  const CropBox f = sample_crop_box(100, 20, 2.0, 3.0, 0.75, 4.0 / 3.0, rng);
  EXPECT_EQ(f.width, 20);
  EXPECT_EQ(f.height, 27);  // round(20 / 0.75)
  EXPECT_EQ(f.top, (100 - 27) / 2);
}

TEST(MultiCrop, PlainPipelineIsResizeAndNormalise) {
  MultiCropOptions o = plain();
  o.global_scale_min = o.global_scale_max = 1.0;
  o.ratio_min = o.ratio_max = 1.0;
  const torch::Tensor img = torch::full({1, 30, 30}, 0.6f);
  SslRng rng(2);
  const MultiCrops c = MultiCropAugmentation(o)(img, rng);
  EXPECT_TRUE(torch::allclose(c.global_crops, torch::full({2, 1, 28, 28}, (0.6 - 0.5307) / 0.2583), 1e-5, 1e-5));
  // Flip with p = 1 mirrors the whole-image crop.
  o.flip_probability = 1.0;
  const torch::Tensor ramp = torch::linspace(0, 1, 28).repeat({28, 1}).unsqueeze(0);
  SslRng r1(3);
  const MultiCrops flipped = MultiCropAugmentation(o)(ramp, r1);
  const torch::Tensor expected = (ramp - 0.5307) / 0.2583;
  EXPECT_TRUE(torch::allclose(flipped.global_crops[0], expected.flip({-1}), 1e-4, 1e-4));
}

TEST(MultiCrop, PhotometricBuildingBlocks) {
  const torch::Tensor x = torch::tensor({0.1f, 0.5f, 0.9f}).view({1, 1, 3});
  EXPECT_TRUE(torch::allclose(adjust_brightness(x, 2.0), torch::tensor({0.2f, 1.0f, 1.0f}).view({1, 1, 3})));
  // mean 0.5: 0.5 + f (x - 0.5)
  EXPECT_TRUE(torch::allclose(adjust_contrast(x, 0.5), torch::tensor({0.3f, 0.5f, 0.7f}).view({1, 1, 3})));
  EXPECT_TRUE(torch::allclose(solarize(x, 0.5), torch::tensor({0.1f, 0.5f, 0.1f}).view({1, 1, 3})));
  // Blur keeps a constant image and the mean of a symmetric one; it smooths an impulse.
  EXPECT_TRUE(torch::allclose(gaussian_blur(torch::full({1, 12, 12}, 0.3f), 9, 1.5), torch::full({1, 12, 12}, 0.3f)));
  torch::Tensor impulse = torch::zeros({1, 11, 11});
  impulse[0][5][5] = 1.0f;
  const torch::Tensor blurred = gaussian_blur(impulse, 9, 1.0);
  EXPECT_NEAR(blurred.sum().item<double>(), 1.0, 1e-5);
  // Separable 1-D kernel exp(-x^2 / 2): centre weight (1 / sum)^2.
  const double sum = 1 + 2 * (std::exp(-0.5) + std::exp(-2.0) + std::exp(-4.5) + std::exp(-8.0));
  EXPECT_NEAR(blurred[0][5][5].item<double>(), 1.0 / (sum * sum), 1e-6);
}

TEST(MultiCrop, StackIsCropMajor) {
  const MultiCropAugmentation aug(small());
  SslRng rng(4);
  std::vector<MultiCrops> per_image = {aug(test_image(), rng), aug(test_image(), rng)};
  const MultiCrops s = stack_crops(per_image);
  EXPECT_EQ(s.global_crops.size(0), 4);
  EXPECT_EQ(s.local_crops.size(0), 6);
  EXPECT_TRUE(torch::equal(s.global_crops[1], per_image[1].global_crops[0]));
  EXPECT_TRUE(torch::equal(s.global_crops[2], per_image[0].global_crops[1]));
  EXPECT_TRUE(torch::equal(s.local_crops[5], per_image[1].local_crops[2]));
}

}  // namespace
}  // namespace radflow::ml::ssl
