#include "plugins/ml/ssl/ssl_losses.h"

#include <cmath>

#include <gtest/gtest.h>

#include "plugins/ml/ssl/mask_collate.h"

namespace radflow::ml::ssl {
namespace {

constexpr int64_t kB = 3, kK = 16, kNg = 2, kNl = 8;

// H(p, s) for one crop pair, written out row by row.
double pair_ce(const torch::Tensor& p, const torch::Tensor& s, double temp) {
  const torch::Tensor lsm = torch::log_softmax(s.to(torch::kDouble) / temp, -1);
  double total = 0;
  for (int64_t r = 0; r < p.size(0); ++r) total -= (p[r].to(torch::kDouble) * lsm[r]).sum().item<double>();
  return total / static_cast<double>(p.size(0));
}

torch::Tensor random_probs(int64_t rows) { return torch::softmax(torch::randn({rows, kK}) * 3, -1); }

TEST(DinoLoss, ZeroLogitsUniformTeacherGiveLogK) {
  const torch::Tensor sg = torch::zeros({kNg * kB, kK}), sl = torch::zeros({kNl * kB, kK});
  const torch::Tensor t = torch::full({kNg * kB, kK}, 1.0 / kK);
  const DinoLossTerms d = dino_cls_loss(sg, sl, t, kNg, kNl);
  EXPECT_EQ(d.n_pairs, 18);
  EXPECT_NEAR(d.local.item<double>(), 16.0 / 18.0 * std::log(kK), 1e-5);
  EXPECT_NEAR(d.global.item<double>(), 2.0 / 18.0 * std::log(kK), 1e-6);
  EXPECT_NEAR((d.local + d.global).item<double>(), std::log(kK), 1e-5);
}

TEST(DinoLoss, PairsAreTheCrossViewOnesOverEighteen) {
  torch::manual_seed(0);
  const torch::Tensor sg = torch::randn({kNg * kB, kK}), sl = torch::randn({kNl * kB, kK});
  const torch::Tensor t = random_probs(kNg * kB);
  const DinoLossTerms d = dino_cls_loss(sg, sl, t, kNg, kNl, 0.1);
  const auto tc = t.chunk(2), sc = sg.chunk(2), lc = sl.chunk(kNl);
  // Swap: student A <-> teacher B', student B' <-> teacher A; no same-view pairs.
  const double global = (pair_ce(tc[1], sc[0], 0.1) + pair_ce(tc[0], sc[1], 0.1)) / 18.0;
  double local = 0;
  for (const auto& s : lc) local += pair_ce(tc[0], s, 0.1) + pair_ce(tc[1], s, 0.1);
  EXPECT_NEAR(d.global.item<double>(), global, 1e-5);
  EXPECT_NEAR(d.local.item<double>(), local / 18.0, 1e-5);
  // DINOv2's own form of the global term: mean over 2B rows against the swapped
  // targets, times 2, over 18.
  const torch::Tensor swapped = torch::cat({tc[1], tc[0]});
  const double dinov2_global = 2.0 * pair_ce(swapped, sg, 0.1) / 18.0;
  EXPECT_NEAR(d.global.item<double>(), dinov2_global, 1e-5);
}

TEST(DinoLoss, StudentCropIgnoresItsOwnTeacherView) {
  torch::manual_seed(1);
  const torch::Tensor t = random_probs(kNg * kB);
  auto grad_of_student = [&](const torch::Tensor& teacher) {
    torch::manual_seed(7);  // the same student logits for both calls
    torch::Tensor sg = torch::randn({kNg * kB, kK}).set_requires_grad(true);
    dino_cls_loss(sg, {}, teacher, kNg, 0).global.backward();
    return sg.grad();
  };
  torch::Tensor perturbed = t.clone();
  perturbed.narrow(0, 0, kB).copy_(random_probs(kB));  // change teacher crop A only
  const torch::Tensor g0 = grad_of_student(t), g1 = grad_of_student(perturbed);
  // Student crop A's gradient depends on teacher B' only; crop B' sees the change.
  EXPECT_TRUE(torch::allclose(g0.narrow(0, 0, kB), g1.narrow(0, 0, kB)));
  EXPECT_FALSE(torch::allclose(g0.narrow(0, kB, kB), g1.narrow(0, kB, kB)));
}

TEST(DinoLoss, NoLocalCropsUsesDinov2Divisor) {
  const torch::Tensor sg = torch::zeros({kNg * kB, kK});
  const torch::Tensor t = torch::full({kNg * kB, kK}, 1.0 / kK);
  const DinoLossTerms d = dino_cls_loss(sg, {}, t, kNg, 0);
  EXPECT_EQ(d.n_pairs, 3);  // 2 + max(0, 1)
  EXPECT_EQ(d.local.item<float>(), 0.0f);
  EXPECT_NEAR(d.global.item<double>(), 2.0 / 3.0 * std::log(kK), 1e-6);
}

TEST(IbotLoss, ZeroLogitsUniformTeacherScaleWithMaskedCropShare) {
  const int64_t n_crops = 8, n = 16;
  torch::Tensor masks = torch::zeros({n_crops, n}, torch::kBool);
  masks[0].narrow(0, 0, 3).fill_(true);
  masks[3].narrow(0, 5, 7).fill_(true);
  masks[6].narrow(0, 1, 1).fill_(true);
  masks[7].narrow(0, 0, 16).fill_(true);
  const int64_t m = masks.sum().item<int64_t>();
  const torch::Tensor loss =
      ibot_patch_loss(torch::zeros({m, kK}), torch::full({m, kK}, 1.0 / kK), masks);
  EXPECT_NEAR(loss.item<double>(), std::log(kK) * 4.0 / 8.0, 1e-5);
}

TEST(IbotLoss, MeanOverImagesOfPerImageMeanCrossEntropy) {
  torch::manual_seed(2);
  const BlockMaskGenerator gen(BlockMaskOptions{4, 4});
  SslRng rng(9);
  const MaskBatch batch = collate_masks(6, gen, MaskCollateOptions{}, rng);
  const int64_t m = batch.n_masked_patches;
  ASSERT_GT(m, 0);
  const torch::Tensor s = torch::randn({m, kK}), t = random_probs(m);
  const torch::Tensor loss = ibot_patch_loss(s, t, batch.masks, batch.masks_weight);
  // Independent form: walk the crops, average CE over each crop's masked patches.
  const torch::Tensor lsm = torch::log_softmax(s.to(torch::kDouble) / 0.1, -1);
  double total = 0;
  int64_t row = 0;
  for (int64_t c = 0; c < 6; ++c) {
    const int64_t count = batch.masks[c].sum().item<int64_t>();
    double crop = 0;
    for (int64_t i = 0; i < count; ++i, ++row) crop -= (t[row].to(torch::kDouble) * lsm[row]).sum().item<double>();
    if (count > 0) total += crop / count;
  }
  EXPECT_NEAR(loss.item<double>(), total / 6.0, 1e-5);
  // Default weights equal the collate's.
  EXPECT_NEAR(ibot_patch_loss(s, t, batch.masks).item<double>(), loss.item<double>(), 1e-6);
}

TEST(IbotLoss, ZeroWhenStudentMatchesOneHotTargets) {
  const int64_t m = 5;
  const torch::Tensor idx = torch::tensor({3, 0, 15, 7, 7}, torch::kLong);
  const torch::Tensor onehot = torch::nn::functional::one_hot(idx, kK).to(torch::kFloat);
  torch::Tensor masks = torch::zeros({2, 4}, torch::kBool);
  masks[0].narrow(0, 0, 2).fill_(true);
  masks[1].narrow(0, 1, 3).fill_(true);
  EXPECT_NEAR(ibot_patch_loss(onehot * 100.0, onehot, masks).item<double>(), 0.0, 1e-6);
  EXPECT_GT(ibot_patch_loss(-onehot * 100.0, onehot, masks).item<double>(), 1.0);
  EXPECT_EQ(masks.sum().item<int64_t>(), m);
}

TEST(KoLeo, OrthonormalVectorsGiveMinusLogSqrtTwo) {
  EXPECT_NEAR(koleo_loss(torch::eye(5)).item<double>(), -std::log(std::sqrt(2.0)), 1e-6);
  EXPECT_NEAR(koleo_loss(torch::eye(4) * 7.0).item<double>(), -0.34657359, 1e-6);  // scale-free
}

TEST(KoLeo, KnownPointsOnTheCircle) {
  // Angles 0, 60, 180 degrees: nearest-neighbour distances 1, 1, sqrt(3).
  const double c = 0.5, s = std::sqrt(3.0) / 2;
  const torch::Tensor x = torch::tensor({{1.0, 0.0}, {c, s}, {-1.0, 0.0}}, torch::kDouble).to(torch::kFloat) * 3;
  EXPECT_NEAR(koleo_loss(x).item<double>(), -std::log(3.0) / 6.0, 1e-6);
}

TEST(SslLoss, TotalWeightsAndKoleoPerCrop) {
  torch::manual_seed(3);
  SslLossInputs in;
  in.n_global_crops = 2;
  in.n_local_crops = 2;
  in.student_global_logits = torch::randn({2 * kB, kK});
  in.student_local_logits = torch::randn({2 * kB, kK});
  in.teacher_global_probs = random_probs(2 * kB);
  // Crop B' repeats crop A: KoLeo across the two crops would see zero distances.
  const torch::Tensor a = torch::randn({kB, 6});
  in.student_global_cls = torch::cat({a, a});
  in.masks = torch::zeros({2 * kB, 4}, torch::kBool);
  in.masks[1].narrow(0, 0, 2).fill_(true);
  in.student_masked_patch_logits = torch::randn({2, kK});
  in.teacher_masked_patch_probs = random_probs(2);
  const SslLossTerms l = ssl_loss(in);
  EXPECT_NEAR(l.koleo.item<double>(), 2 * koleo_loss(a).item<double>(), 1e-5);
  EXPECT_NEAR(l.ibot.item<double>(),
              ibot_patch_loss(in.student_masked_patch_logits, in.teacher_masked_patch_probs, in.masks).item<double>(),
              1e-6);
  EXPECT_NEAR(l.total.item<double>(),
              (l.dino_local + l.dino_global + 0.1 * l.koleo + l.ibot).item<double>(), 1e-5);
  SslLossWeights w;
  w.ibot = 0;
  w.koleo = 0;
  const SslLossTerms dino_only = ssl_loss(in, w);
  EXPECT_NEAR(dino_only.total.item<double>(), (l.dino_local + l.dino_global).item<double>(), 1e-6);
}

}  // namespace
}  // namespace radflow::ml::ssl
