// The rank side of the multi-process cases: connect to the group over the TCPStore,
// run one case, torch::save what the test compares into <out_dir>/rank-<r>.pt.
// Failures print to stderr and exit non-zero; the parent test asserts on exit codes
// and on the saved tensors.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <unistd.h>

#include <torch/torch.h>

#include "plugins/ml/ssl/process_group_collective.h"
#include "plugins/ml/ssl/teacher_centering.h"
#include "tests/ml/distributed/rank_processes.h"
#include "tests/ml/distributed/rank_inputs.h"
#include "tests/ml/distributed/trainer_fixture.h"

namespace radflow::ml::ssl::testing {
namespace {

std::vector<torch::Tensor> all_reduce_case(Collective& c, int rank) {
  torch::Tensor sum = torch::full({3}, static_cast<float>(rank + 1));
  torch::Tensor max = torch::tensor({static_cast<double>(rank), -static_cast<double>(rank)}, torch::kDouble);
  torch::Tensor counts = torch::tensor({int64_t{rank + 10}}, torch::kLong);
  torch::Tensor base = torch::arange(6, torch::kFloat).reshape({2, 3}) * (rank + 1);
  torch::Tensor strided = base.t();  // non-contiguous: reduced in place through a copy
  std::vector<torch::Tensor> list{sum, counts};
  c.all_reduce_sum(list);
  c.all_reduce_max(max);
  c.all_reduce_sum(strided);
  // Buckets smaller than one tensor: each tensor its own call; the mean is the same.
  std::vector<torch::Tensor> grads{torch::full({4}, static_cast<float>(rank)), torch::full({2, 2}, 2.0f * rank)};
  all_reduce_mean_bucketed(c, grads, /*bucket_bytes=*/8);
  c.barrier();
  return {sum, counts, max, base, grads[0], grads[1]};
}

std::vector<torch::Tensor> centers_case(Collective& c, int rank) {
  TeacherCentering all_rows(kCenterDim, 0.9, CenterReduction::kAllRows, &c);
  TeacherCentering rank_means(kCenterDim, 0.9, CenterReduction::kMeanOfRankMeans, &c);
  TeacherCentering sparse(kCenterDim, 0.9, CenterReduction::kMeanOfRankMeans, &c);
  const torch::Tensor logits = center_logits(rank);
  all_rows.update(logits);
  rank_means.update(logits);
  sparse.update(rank == 0 ? logits : logits.narrow(0, 0, 0));  // rank 1 has no rows
  const torch::Tensor sk = sinkhorn_knopp(logits, 0.05, 3, &c);
  return {all_rows.center(), rank_means.center(), sparse.center(), sk};
}

std::vector<torch::Tensor> trainer_case(const std::shared_ptr<Collective>& c, int rank, int world,
                                        TeacherTargets targets, int steps) {
  SslTrainer trainer = make_trainer(targets, c);
  std::vector<StepStats> stats;
  const int64_t shard = kGlobalBatch / world;
  for (int step = 0; step < steps; ++step) {
    stats.push_back(trainer.step(global_batch_images(step).narrow(0, rank * shard, shard)));
  }
  return trainer_outcome(trainer, stats);
}

}  // namespace

int run_rank_worker(const std::string& worker_case, int rank, int world_size, int port,
                    const std::string& out_dir) {
  try {
    at::set_num_threads(1);
    ProcessGroupConfig config;
    config.rank = rank;
    config.world_size = world_size;
    config.master_port = port;
    config.timeout_ms = worker_case == "peer_dies" ? 5000 : 60000;
    auto made = make_process_group_collective(config);
    if (!made.ok()) {
      std::fprintf(stderr, "rank %d: %s\n", rank, made.status().to_string().c_str());
      return 2;
    }
    std::shared_ptr<Collective> c = made.value();
    std::vector<torch::Tensor> out;
    if (worker_case == "allreduce") {
      out = all_reduce_case(*c, rank);
    } else if (worker_case == "centers") {
      out = centers_case(*c, rank);
    } else if (worker_case == "trainer_centering") {
      out = trainer_case(c, rank, world_size, TeacherTargets::kCentering, 1);
    } else if (worker_case == "trainer_sinkhorn") {
      out = trainer_case(c, rank, world_size, TeacherTargets::kSinkhorn, 2);
    } else if (worker_case == "peer_dies") {
      if (rank == 1) ::_exit(0);  // gone without a word, store and group left behind
      torch::Tensor t = torch::ones({4});
      try {
        c->all_reduce_sum(t);
      } catch (const std::runtime_error& e) {
        std::fprintf(stderr, "rank 0 saw the failure: %s\n", e.what());
        return 0;  // the expected outcome: an exception, not a hang
      }
      return 3;
    } else {
      std::fprintf(stderr, "unknown case %s\n", worker_case.c_str());
      return 4;
    }
    torch::save(out, out_dir + "/rank-" + std::to_string(rank) + ".pt");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d failed: %s\n", rank, e.what());
    return 1;
  }
}

}  // namespace radflow::ml::ssl::testing
