// The Slurm executor's pure parts (slurm_job.h): sbatch arguments from an attempt's
// needs, the scripts, and squeue's and sbatch's output. No Slurm needed.
#include <gtest/gtest.h>

#include <algorithm>

#include "orchestrator/executor/slurm_job.h"

namespace radflow {
namespace {

bool has(const std::vector<std::string>& args, const std::string& arg) {
  return std::find(args.begin(), args.end(), arg) != args.end();
}

SlurmJobRequest request() {
  SlurmJobRequest r;
  r.job_name = "radflow-r7-pretrain-a2";
  r.attempt_dir = "/shared/radflow/attempts/7/pretrain/attempt-2";
  r.worker_path = "/opt/radflow/bin/radflow-worker";
  return r;
}

TEST(SlurmJob, SbatchArgumentsCarryTheAttemptsNeeds) {
  SlurmJobRequest r = request();
  r.ranks = 8;
  r.gpus = 4;
  r.cpus_per_task = 2.5;
  r.memory_mb = 64000;
  r.timeout_s = 3601;
  r.partition = "gpu";
  r.account = "radiology";
  r.extra_args = {"--qos=high"};
  const auto args = sbatch_arguments(r, "/x/slurm-batch.sh");
  EXPECT_TRUE(has(args, "--job-name=radflow-r7-pretrain-a2"));
  EXPECT_TRUE(has(args, "--ntasks=8"));
  EXPECT_TRUE(has(args, "--cpus-per-task=3"));  // Slurm counts whole CPUs
  EXPECT_TRUE(has(args, "--gres=gpu:4"));
  EXPECT_TRUE(has(args, "--ntasks-per-node=4"));
  EXPECT_TRUE(has(args, "--mem=64000M"));
  EXPECT_TRUE(has(args, "--time=61"));
  EXPECT_TRUE(has(args, "--partition=gpu"));
  EXPECT_TRUE(has(args, "--account=radiology"));
  EXPECT_TRUE(has(args, "--no-requeue"));
  EXPECT_TRUE(has(args, "--qos=high"));
  EXPECT_EQ(args.back(), "/x/slurm-batch.sh");
}

TEST(SlurmJob, NoGpusNoLimitsMeansNoSuchArguments) {
  const auto args = sbatch_arguments(request(), "/x/b.sh");
  for (const auto& arg : args) {
    EXPECT_EQ(arg.rfind("--gres", 0), std::string::npos) << arg;
    EXPECT_EQ(arg.rfind("--time", 0), std::string::npos) << arg;
    EXPECT_EQ(arg.rfind("--mem", 0), std::string::npos) << arg;
    EXPECT_EQ(arg.rfind("--partition", 0), std::string::npos) << arg;
  }
}

TEST(SlurmJob, TimeLimitIsWholeMinutesRoundedUp) {
  EXPECT_EQ(slurm_time_limit(0), "");
  EXPECT_EQ(slurm_time_limit(1), "1");
  EXPECT_EQ(slurm_time_limit(60), "1");
  EXPECT_EQ(slurm_time_limit(61), "2");
}

TEST(SlurmJob, StepResourcesBecomeCpusPerTaskMemAndGres) {
  // One rank: its CPUs and memory as they are.
  SlurmJobRequest one = request();
  apply_step_resources(1, 3, 1.5, 0, &one);
  auto args = sbatch_arguments(one, "/x/b.sh");
  EXPECT_TRUE(has(args, "--ntasks=1"));
  EXPECT_TRUE(has(args, "--cpus-per-task=3"));
  EXPECT_TRUE(has(args, "--mem=1536M"));

  // CPUs are the attempt's, shared by its ranks (rounded up); without GPUs every
  // rank may land on one node, so --mem (per node) asks for all of the memory.
  SlurmJobRequest cpu = request();
  apply_step_resources(4, 6, 8, 0, &cpu);
  args = sbatch_arguments(cpu, "/x/b.sh");
  EXPECT_TRUE(has(args, "--ntasks=4"));
  EXPECT_TRUE(has(args, "--cpus-per-task=2"));
  EXPECT_TRUE(has(args, "--mem=8192M"));

  // GPU ranks are packed gpus a node: a node holds 2 of the 8 ranks, so a quarter.
  SlurmJobRequest gpu = request();
  apply_step_resources(8, 8, 64, 2, &gpu);
  args = sbatch_arguments(gpu, "/x/b.sh");
  EXPECT_TRUE(has(args, "--gres=gpu:2"));
  EXPECT_TRUE(has(args, "--ntasks-per-node=2"));
  EXPECT_TRUE(has(args, "--cpus-per-task=1"));
  EXPECT_TRUE(has(args, "--mem=16384M"));

  // A share below one CPU is one; no memory asked, no --mem.
  SlurmJobRequest small = request();
  apply_step_resources(4, 0.4, 0, 0, &small);
  args = sbatch_arguments(small, "/x/b.sh");
  EXPECT_TRUE(has(args, "--cpus-per-task=1"));
  for (const auto& arg : args) EXPECT_EQ(arg.rfind("--mem", 0), std::string::npos) << arg;

  // The step's "slurm" options, applied after, win.
  EXPECT_FALSE(apply_step_slurm_options({{"cpus_per_task", 4}, {"memory_mb", 1000}}, &one));
  args = sbatch_arguments(one, "/x/b.sh");
  EXPECT_TRUE(has(args, "--cpus-per-task=4"));
  EXPECT_TRUE(has(args, "--mem=1000M"));
}

TEST(SlurmJob, StepOptionsOverrideAndUnknownKeysAreNamed) {
  SlurmJobRequest r = request();
  r.partition = "cpu";
  EXPECT_FALSE(apply_step_slurm_options(
      {{"partition", "gpu"}, {"memory_mb", 1000}, {"sbatch_args", {"--exclusive"}}}, &r));
  EXPECT_EQ(r.partition, "gpu");
  EXPECT_EQ(r.memory_mb, 1000);
  EXPECT_EQ(r.extra_args, std::vector<std::string>{"--exclusive"});
  EXPECT_EQ(apply_step_slurm_options({{"partitoin", "gpu"}}, &r).value_or("").rfind(
                "slurm.partitoin: unknown option", 0),
            0u);
  EXPECT_EQ(apply_step_slurm_options({{"memory_mb", "lots"}}, &r).value_or(""),
            "slurm.memory_mb: must be an integer >= 0");
}

TEST(SlurmJob, TaskScriptDerivesTheTorchrunEnvironmentFromSlurms) {
  SlurmJobRequest r = request();
  r.env = {{"RADFLOW_EVENTS_TOKEN", "rfa_x'y"}, {"CUDA_VISIBLE_DEVICES", "0"}};
  const std::string script = render_task_script(r);
  EXPECT_NE(script.find("RANK=\"$SLURM_PROCID\""), std::string::npos);
  EXPECT_NE(script.find("WORLD_SIZE=\"$SLURM_NTASKS\""), std::string::npos);
  EXPECT_NE(script.find("LOCAL_RANK=\"$SLURM_LOCALID\""), std::string::npos);
  EXPECT_NE(script.find("MASTER_ADDR=\"$MASTER_ADDR\""), std::string::npos);
  EXPECT_NE(script.find("RADFLOW_EVENTS_TOKEN='rfa_x'\\''y'"), std::string::npos);
  // The node's devices, never the daemon's.
  EXPECT_EQ(script.find("CUDA_VISIBLE_DEVICES='0'"), std::string::npos);
  EXPECT_NE(script.find("/rank-\"$SLURM_PROCID\".json"), std::string::npos);
  const std::string batch = render_batch_script(r);
  EXPECT_NE(batch.find("scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1"),
            std::string::npos);
  EXPECT_NE(batch.find("--free-port"), std::string::npos);
  EXPECT_NE(batch.find("srun --export=ALL --kill-on-bad-exit=1 --ntasks=1"), std::string::npos);
}

TEST(SlurmJob, ParsesSbatchAndSqueue) {
  EXPECT_EQ(parse_sbatch_job_id("42\n").value_or(""), "42");
  EXPECT_EQ(parse_sbatch_job_id("42;cluster\n").value_or(""), "42");
  EXPECT_FALSE(parse_sbatch_job_id("sbatch: error\n"));
  const auto jobs = parse_squeue("42|PENDING|Resources|\n43|RUNNING|None|node[1-2]\nnoise\n");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs.at("42").reason, "Resources");
  EXPECT_EQ(jobs.at("43").nodes, "node[1-2]");
  EXPECT_EQ(slurm_waiting_text(jobs.at("42")), "waiting in Slurm: Resources (slurm job 42)");
}

TEST(SlurmJob, PhasesTellLostFromFailedAndTimedOut) {
  EXPECT_EQ(slurm_phase("PENDING"), SlurmPhase::kWaiting);
  EXPECT_EQ(slurm_phase("RUNNING"), SlurmPhase::kRunning);
  EXPECT_EQ(slurm_phase("COMPLETED"), SlurmPhase::kEnded);
  EXPECT_EQ(slurm_phase("FAILED"), SlurmPhase::kEnded);
  EXPECT_EQ(slurm_phase("TIMEOUT"), SlurmPhase::kTimedOut);
  EXPECT_EQ(slurm_phase("NODE_FAIL"), SlurmPhase::kLost);
  EXPECT_EQ(slurm_phase("PREEMPTED"), SlurmPhase::kLost);
}

}  // namespace
}  // namespace radflow
