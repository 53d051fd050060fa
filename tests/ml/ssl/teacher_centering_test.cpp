#include "plugins/ml/ssl/teacher_centering.h"

#include <gtest/gtest.h>

namespace radflow::ml::ssl {
namespace {

// DINOv2's sinkhorn_knopp_teacher, written out in double precision without tricks.
torch::Tensor reference_sinkhorn(const torch::Tensor& logits, double temp, int iterations) {
  torch::Tensor q = torch::exp(logits.to(torch::kDouble) / temp).t();
  const double b = static_cast<double>(q.size(1)), k = static_cast<double>(q.size(0));
  q = q / q.sum();
  for (int i = 0; i < iterations; ++i) {
    q = q / q.sum(1, true) / k;
    q = q / q.sum(0, true) / b;
  }
  return (q * b).t();
}

// Two identical ranks without processes: every sum doubles, every max stays.
class TwinRanks final : public Collective {
 public:
  int64_t rank() const override { return 0; }
  int64_t world_size() const override { return 2; }
  void barrier() override {}
  int calls = 0;

 protected:
  void all_reduce(std::vector<at::Tensor>& tensors, ReduceOp op) override {
    ++calls;
    if (op == ReduceOp::kSum) {
      for (auto& t : tensors) t.mul_(2);
    }
  }
};

TEST(TeacherCentering, FirstUpdateIsTenthOfBatchMeanThenEma) {
  TeacherCentering c(4);
  EXPECT_TRUE(torch::equal(c.center(), torch::zeros({1, 4})));
  const torch::Tensor t1 = torch::tensor({{1.0f, 2.0f, 3.0f, 4.0f}, {3.0f, 2.0f, 1.0f, 0.0f}});
  c.update(t1);
  EXPECT_TRUE(torch::allclose(c.center(), 0.1 * t1.mean(0, true)));
  const torch::Tensor t2 = torch::full({3, 4}, 5.0f);
  c.update(t2);
  EXPECT_TRUE(torch::allclose(c.center(), 0.9 * 0.1 * t1.mean(0, true) + 0.1 * 5.0));
}

TEST(TeacherCentering, SoftmaxUsesCenterAndTemperature) {
  TeacherCentering c(3);
  c.set_center(torch::tensor({{0.5f, -0.5f, 0.0f}}));
  const torch::Tensor t = torch::tensor({{1.0f, 0.0f, -1.0f}, {0.2f, 0.1f, 0.3f}});
  const torch::Tensor p = c.softmax_centered(t, 0.04);
  EXPECT_TRUE(torch::allclose(p, torch::softmax((t - c.center()) / 0.04, -1)));
  EXPECT_TRUE(torch::allclose(p.sum(-1), torch::ones({2})));
}

TEST(TeacherCentering, CollectiveHookSumsAcrossRanks) {
  // Two identical ranks: every sum doubles, world size 2 -> the single-rank center.
  TwinRanks two;
  TeacherCentering single(3), all_rows(3, 0.9, CenterReduction::kAllRows, &two),
      rank_means(3, 0.9, CenterReduction::kMeanOfRankMeans, &two);
  const torch::Tensor t = torch::randn({5, 3});
  single.update(t);
  all_rows.update(t);
  rank_means.update(t);
  EXPECT_EQ(two.calls, 2);  // one all-reduce per update: numerator and count together
  EXPECT_TRUE(torch::allclose(all_rows.center(), single.center()));
  EXPECT_TRUE(torch::allclose(rank_means.center(), single.center()));
}

TEST(Sinkhorn, MatchesReferenceRowsSumToOneMarginalsNearUniform) {
  torch::manual_seed(0);
  const torch::Tensor logits = torch::rand({12, 8}) * 0.2 - 0.1;  // like unit-norm head logits
  const torch::Tensor q = sinkhorn_knopp(logits, 0.07, 3);
  ASSERT_EQ(q.sizes(), logits.sizes());
  EXPECT_TRUE(torch::allclose(q.to(torch::kDouble), reference_sinkhorn(logits, 0.07, 3), 1e-5, 1e-7));
  // The last normalisation is over samples: each row is a distribution.
  EXPECT_TRUE(torch::allclose(q.sum(1), torch::ones({12}), 1e-5, 1e-6));
  // Prototype marginals: each column sums to about B / K after 3 iterations...
  EXPECT_TRUE(torch::allclose(q.sum(0), torch::full({8}, 12.0 / 8.0), 0.05, 0.0));
  // ...and to exactly that in the limit.
  EXPECT_TRUE(torch::allclose(sinkhorn_knopp(logits, 0.07, 200).sum(0), torch::full({8}, 1.5), 1e-4, 0.0));
}

TEST(Sinkhorn, CollectiveOfIdenticalRanksGivesTheSingleRankResult) {
  torch::manual_seed(1);
  const torch::Tensor logits = torch::randn({6, 5}) * 0.5;
  TwinRanks two;
  EXPECT_TRUE(torch::allclose(sinkhorn_knopp(logits, 0.1, 3, &two), sinkhorn_knopp(logits, 0.1, 3), 1e-5, 1e-7));
  // max, then count and mass together, then one row-sum reduction per iteration.
  EXPECT_EQ(two.calls, 2 + 3);
  // With the max all-reduced, large logits stay finite across ranks too.
  const torch::Tensor large = torch::tensor({{1.0f, -1.0f}, {0.9f, 1.0f}, {-1.0f, 0.5f}});
  EXPECT_TRUE(torch::isfinite(sinkhorn_knopp(large, 0.01, 3, &two)).all().item<bool>());
}

TEST(Sinkhorn, LargeLogitsStayFinite) {
  // exp(1 / 0.01) overflows fp32; subtracting the max keeps the single-process path finite.
  const torch::Tensor logits = torch::tensor({{1.0f, -1.0f}, {0.9f, 1.0f}, {-1.0f, 0.5f}});
  EXPECT_TRUE(torch::isfinite(sinkhorn_knopp(logits, 0.01)).all().item<bool>());
}

}  // namespace
}  // namespace radflow::ml::ssl
