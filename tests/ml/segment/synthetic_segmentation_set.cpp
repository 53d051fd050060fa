#include "tests/ml/segment/synthetic_segmentation_set.h"

#include <filesystem>

#include "plugins/ml/image/image_writer.h"

namespace radflow::segment::test {

namespace {

constexpr int64_t kGrid = 4, kDim = 8, kPatchPixels = 8, kSize = kGrid * kPatchPixels;

// One mask PNG (0 or 65535) from a per-patch on/off map.
std::string write_mask(const std::string& path, const std::vector<bool>& on) {
  std::vector<float> pixels(kSize * kSize);
  for (int64_t y = 0; y < kSize; ++y) {
    for (int64_t x = 0; x < kSize; ++x) {
      pixels[y * kSize + x] = on[(y / kPatchPixels) * kGrid + x / kPatchPixels] ? 1.0f : 0.0f;
    }
  }
  if (!ml::write_png16(path, pixels, kSize, kSize, 1).ok()) throw std::runtime_error("cannot write " + path);
  return path;
}

}  // namespace

ml::eval::FeatureSet synthetic_segmentation_set(const std::string& dir, const SyntheticOptions& options) {
  std::filesystem::create_directories(dir + "/masks");
  auto gen = at::detail::createCPUGenerator(options.seed);
  const int64_t n = options.n, p = kGrid * kGrid;
  ml::eval::FeatureSet set;
  set.grid_h = set.grid_w = kGrid;
  set.patch_tokens[1] = torch::randn({n, p, kDim}, gen);
  set.patch_tokens[3] = torch::randn({n, p, kDim}, gen);
  // Push channels 0 and 1 to +-[1, 1.5], so after bilinear upsampling (a neighbour
  // weighs at most 3/8 at 4x) the sign of a linear logit still matches every pixel.
  const torch::Tensor deep = set.patch_tokens[3].clone();
  for (int c : {0, 1}) {
    const auto on = c == 0 ? deep.select(2, 0) > 0 : deep.select(2, 1) > 0.8;
    const auto magnitude = 1 + 0.5 * torch::rand({n, p}, gen);
    set.patch_tokens[3].select(2, c).copy_(torch::where(on, magnitude, -magnitude));
  }
  if (options.random_tokens) {
    set.patch_tokens[1] = torch::randn({n, p, kDim}, gen);
    set.patch_tokens[3] = torch::randn({n, p, kDim}, gen);
  }
  set.cls = set.patch_tokens[3].mean(1);
  set.mean_patch = set.cls.clone();
  for (int64_t i = 0; i < n; ++i) {
    std::vector<bool> lungs(p), heart(p);
    for (int64_t k = 0; k < p; ++k) {
      lungs[k] = deep[i][k][0].item<float>() > 0;
      heart[k] = deep[i][k][1].item<float>() > 0.8f;
    }
    ml::eval::FeatureRow row;
    const std::string id = std::to_string(i);
    row.split = i % 5 < 3 ? "train" : i % 5 == 3 ? "val" : "test";
    row.path = dir + "/image" + id + ".png";
    std::vector<float> image(kSize * kSize);
    for (size_t k = 0; k < image.size(); ++k) image[k] = static_cast<float>(k % kSize) / kSize;
    if (!ml::write_png16(row.path, image, kSize, kSize, 1).ok()) throw std::runtime_error("image");
    row.masks["lungs"] = write_mask(dir + "/masks/lungs" + id + ".png", lungs);
    row.masks["heart"] = write_mask(dir + "/masks/heart" + id + ".png", heart);
    row.labels["effusion"] = static_cast<int>(i % 2);
    set.rows.push_back(row);
  }
  set.meta = {{"encoder", "synthetic"}, {"patch_layers", {1, 3}}};
  return set;
}

}  // namespace radflow::segment::test
