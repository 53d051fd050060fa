// The 2-rank pretrain step (c10d over Gloo) through one real radflowd, run twice
// on the same data: as two local worker processes and as one Slurm job of two
// tasks whose torchrun variables come from Slurm's (slurm_job.h). Same seed,
// ranks and RADFLOW_CPUS, so the two runs must train the same encoder: its
// artifact digest (sha256 of model.safetensors and config.json) and every point
// of the loss series are compared exactly. Built only with LibTorch; skipped
// where the local Slurm cannot start.
#include <gtest/gtest.h>

#include "tests/slurm/slurm_daemon_fixture.h"

namespace radflow::test {
namespace {

using nlohmann::json;

// A tiny ViT on a dozen synthetic 64 px images: three iterations, both ranks
// training on their halves of each global batch.
json pretrain_workflow(const std::string& executor) {
  const json pretrain = {
      {"plugin", "pretrain"},
      {"executor", executor},
      {"inputs", {{"dataset", "data.dataset"}}},
      {"resources", {{"ranks", 2}, {"cpus", 1}}},
      // Both runs must train: never served from the cache (the executor is not in
      // the cache key).
      {"cache", false},
      {"timeout_s", 600},
      {"params",
       {{"arch", "tiny"}, {"device", "cpu"}, {"iterations", 3}, {"batch_size", 2},
        {"local_crops", 2}, {"image_size", 56}, {"checkpoint_every", 1}, {"seed", 7}}}};
  return {{"name", "pretrain-on-" + executor},
          {"steps",
           {{"data", {{"plugin", "synth-cxr"},
                      {"params", {{"seed", 2}, {"count", 12}, {"image_size", 64}}}}},
            {"train", pretrain}}}};
}

class SlurmPretrain : public SlurmDaemonTest {
 protected:
  // Steps run locally unless they choose Slurm; two CPU slots hold the two local ranks.
  SlurmPretrain() : SlurmDaemonTest({"--cpus", "2", "--slurm-poll-s", "0.2"}) {}

  // Runs the workflow to its end; returns the train step's encoder digest and its
  // loss.total series ([iteration, value] pairs).
  std::pair<std::string, json> train(const std::string& executor) {
    auto [status, created] = daemon_->post("/api/v1/runs", pretrain_workflow(executor).dump());
    EXPECT_EQ(status, 201) << created.dump();
    const int64_t run = created.value("id", int64_t{0});
    const json finished = daemon_->wait_for_run(run, std::chrono::seconds(600));
    EXPECT_EQ(finished.value("status", ""), "succeeded") << executor << ": " << finished.dump(2);
    // Where it ran: the local executor hands out this machine's CPU slots ("cpu"),
    // the Slurm one asks Slurm ("slurm: cpu").
    const json attempts = Daemon::step_of(finished, "train").value("attempts", json::array());
    EXPECT_EQ(attempts.size(), 1u) << attempts.dump(2);
    if (!attempts.empty()) {
      EXPECT_EQ(attempts[0].value("devices", ""), executor == "slurm" ? "slurm: cpu" : "cpu");
    }
    const std::string base = "/api/v1/runs/" + std::to_string(run) + "/steps/train";
    const json outputs = daemon_->get(base + "/outputs");
    EXPECT_EQ(outputs.size(), 1u) << outputs.dump();
    const std::string digest =
        outputs.size() == 1 ? outputs[0].value("digest", std::string()) : std::string();
    const json metrics = daemon_->get(base + "/metrics");
    return {digest, metrics.value("series", json::object()).value("loss.total", json::array())};
  }
};

TEST_F(SlurmPretrain, TwoSlurmTasksTrainTheEncoderOfTwoLocalRanks) {
  const auto [local_digest, local_loss] = train("local");
  const auto [slurm_digest, slurm_loss] = train("slurm");
  ASSERT_EQ(local_digest.size(), 64u);
  EXPECT_EQ(slurm_digest, local_digest) << "the encoders differ";
  ASSERT_EQ(local_loss.size(), 3u) << local_loss.dump();
  // Exactly: the same arithmetic in the same order on the same machine, whatever
  // started the ranks.
  EXPECT_EQ(slurm_loss, local_loss);
  EXPECT_TRUE(slurm_->active_jobs().empty());
}

}  // namespace
}  // namespace radflow::test
