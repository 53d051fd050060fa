// The fixture itself: the local Slurm comes up, runs a 2-task step with Slurm's rank
// variables, and runs a batch job that asks for a fake GPU.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/slurm/local_slurm.h"

namespace radflow::test {
namespace {

class LocalSlurmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    slurm_ = LocalSlurm::start(&why_not);
    if (!slurm_) GTEST_SKIP() << "local Slurm unavailable: " << why_not;
  }
  std::unique_ptr<LocalSlurm> slurm_;
};

TEST_F(LocalSlurmTest, SrunRunsOneTaskPerRankWithSlurmRankVariables) {
  auto srun = slurm_->run({"srun", "--ntasks=2", "--mem=50M", "--label", "/bin/sh", "-c",
                           "echo rank=$SLURM_PROCID of=$SLURM_NTASKS"});
  ASSERT_EQ(srun.exit_code, 0) << srun.err;
  EXPECT_NE(srun.out.find("0: rank=0 of=2"), std::string::npos) << srun.out;
  EXPECT_NE(srun.out.find("1: rank=1 of=2"), std::string::npos) << srun.out;
}

TEST_F(LocalSlurmTest, BatchJobWithAFakeGpuRunsToCompletion) {
  const std::string out = slurm_->dir() + "/gpu-job.out";
  auto sbatch = slurm_->run({"sbatch", "--parsable", "--gres=gpu:1", "--mem=50M",
                             "--output=" + out, "--wrap=echo gpus=$SLURM_GPUS_ON_NODE"});
  ASSERT_EQ(sbatch.exit_code, 0) << sbatch.err;
  const std::string job = sbatch.out.substr(0, sbatch.out.find_first_of(";\n"));
  EXPECT_EQ(slurm_->wait_for_job_state(job, {"COMPLETED", "FAILED"}, 30), "COMPLETED");
  std::ifstream file(out);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(text.str(), "gpus=1\n");
  EXPECT_TRUE(slurm_->active_jobs().empty());
}

}  // namespace
}  // namespace radflow::test
