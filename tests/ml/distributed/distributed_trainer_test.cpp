#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tests/ml/distributed/run_ranks.h"
#include "tests/ml/distributed/trainer_fixture.h"

namespace radflow::ml::ssl::testing {
namespace {

// Pins torch to one intra-op thread (as the ranks are) so reductions run in one order.
class OneThread {
 public:
  OneThread() : previous_(at::get_num_threads()) { at::set_num_threads(1); }
  ~OneThread() { at::set_num_threads(previous_); }

 private:
  int previous_;
};

std::vector<torch::Tensor> one_process(TeacherTargets targets, int steps) {
  OneThread one_thread;
  SslTrainer trainer = make_trainer(targets);
  std::vector<StepStats> stats;
  for (int step = 0; step < steps; ++step) stats.push_back(trainer.step(global_batch_images(step)));
  return trainer_outcome(trainer, stats);
}

// Compares two ranks' outcomes with one process on the concatenated batch. KoLeo weight
// and drop path are 0 in the fixture: both are per rank by design (trainer_fixture.h).
// Layout of trainer_outcome(): (grad, param) per parameter, the two centers, a stats row per step.
size_t parameter_count(const std::vector<torch::Tensor>& outcome, int steps) {
  return (outcome.size() - 2 - static_cast<size_t>(steps)) / 2;
}

void expect_ranks_match_one_process(const RankRun& run, const std::vector<torch::Tensor>& expected, int steps,
                                    bool ibot_center_matches) {
  ASSERT_EQ(run.exit_codes, (std::vector<int>{0, 0}));
  const size_t n_params = parameter_count(expected, steps);
  for (int r = 0; r < 2; ++r) {
    const auto& got = run.outputs[static_cast<size_t>(r)];
    ASSERT_EQ(got.size(), expected.size()) << "rank " << r;
    for (size_t i = 0; i < expected.size(); ++i) {
      const bool ibot_center = i == 2 * n_params + 1;
      if (ibot_center && !ibot_center_matches) continue;
      if (i < 2 * n_params) {
        ASSERT_EQ(got[i].sizes(), expected[i].sizes());
      }
      EXPECT_LE(max_abs_diff(got[i], expected[i]), i >= 2 * n_params + 2 ? 1e-4 : 1e-5)
          << "rank " << r << " tensor " << i << (i < 2 * n_params ? (i % 2 ? " (param)" : " (grad)") : "");
    }
  }
}

TEST(DistributedTrainer, TwoGlooRanksGiveOneProcessFirstStepGradients) {
  const std::vector<torch::Tensor> expected = one_process(TeacherTargets::kCentering, 1);
  // The comparison is not vacuous: the gradients are not all zero.
  double grad_norm = 0;
  for (size_t i = 0; i < parameter_count(expected, 1); ++i) grad_norm += expected[2 * i].square().sum().item<double>();
  ASSERT_GT(grad_norm, 1e-6);
  const RankRun run = run_ranks("trainer_centering");
  // The DINO center counts every row once; the iBOT center is DINOv2's mean of the two
  // ranks' means, which differs from one process when their masked counts differ.
  expect_ranks_match_one_process(run, expected, 1, /*ibot_center_matches=*/false);
}

TEST(DistributedTrainer, TwoGlooRanksWithSinkhornMatchOneProcessOverTwoSteps) {
  // Sinkhorn targets need no centers, so the second step still matches too.
  const std::vector<torch::Tensor> expected = one_process(TeacherTargets::kSinkhorn, 2);
  const RankRun run = run_ranks("trainer_sinkhorn");
  expect_ranks_match_one_process(run, expected, 2, /*ibot_center_matches=*/true);
}

}  // namespace
}  // namespace radflow::ml::ssl::testing
