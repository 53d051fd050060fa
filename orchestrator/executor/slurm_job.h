// What the Slurm executor tells Slurm and what it reads back, as pure functions:
// the sbatch command line and batch script of one attempt, the shell script each
// rank runs, and the parsing of sbatch's and squeue's output. No I/O; thread-safe.
//
// One attempt is one batch job. The batch script runs `srun` with one task per rank;
// each task runs slurm-task.sh, which starts radflow-worker on its rank's spec
// (rank-<SLURM_PROCID>.json) with the torchrun environment derived from Slurm's:
//   RANK=SLURM_PROCID  WORLD_SIZE=SLURM_NTASKS  LOCAL_RANK=SLURM_LOCALID
//   LOCAL_WORLD_SIZE   the first node's count in SLURM_TASKS_PER_NODE
//   MASTER_ADDR        the first host of SLURM_JOB_NODELIST (scontrol show hostnames)
//   MASTER_PORT        a port free on that host when the batch script starts
//                      (radflow-worker --free-port, run by the batch script there)
// The same names the local executor sets (attempt.cpp), so plugins read one set.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace radflow {

// Everything one sbatch call needs; filled by the executor from the AttemptLaunch,
// the daemon's options and the step's "slurm" options.
struct SlurmJobRequest {
  std::string job_name;     // radflow-r<run>-<step>-a<attempt>
  std::string attempt_dir;  // absolute; on the filesystem the nodes share
  std::string worker_path;  // radflow-worker, absolute, reachable from the nodes
  int ranks = 1;
  int gpus = 0;             // per node (--gres=gpu:N); GPU ranks are packed N a node
  double cpus_per_task = 1;
  int64_t memory_mb = 0;    // per node; 0 = the partition's default
  double timeout_s = 0;     // 0 = the partition's default
  std::string partition;    // "" = the cluster's default
  std::string account;
  std::vector<std::string> extra_args;  // passed to sbatch as they are
  // Set in every rank's environment (RADFLOW_*, the allowlisted daemon variables,
  // the events URL and token).
  std::map<std::string, std::string> env;
};

// The job's share of the step's resources (AttemptLaunch::cpus, memory_gb,
// gpu_count; set before the step's "slurm" options, which override them):
//   gpus           gpu_count (--gres=gpu:N: per node, GPU ranks packed N a node)
//   cpus_per_task  cpus / ranks (sbatch_arguments rounds up to whole CPUs)
//   memory_mb      memory_gb (1 GB = 1024 MB, Slurm's unit) for the ranks one node
//                  may hold: every rank, or gpus of them when GPU ranks are packed;
//                  --mem is per node. 0 = no request (the partition's default).
void apply_step_resources(int ranks, double cpus, double memory_gb, int gpu_count,
                          SlurmJobRequest* request);

// Reads a step's "slurm" options: {"partition", "account", "cpus_per_task",
// "memory_mb", "sbatch_args": [...]}, each optional; they override the daemon's.
// Fails (returns the message naming the field) on a wrong type or an unknown key.
std::optional<std::string> apply_step_slurm_options(const nlohmann::json& options,
                                                    SlurmJobRequest* request);

// Slurm's --time in whole minutes, rounded up, at least 1; "" for no limit. Slurm
// ends a job at this limit (TIMEOUT); the executor stops it at timeout_s itself too.
std::string slurm_time_limit(double timeout_s);

// sbatch's arguments after the program name, ending with the batch script's path.
std::vector<std::string> sbatch_arguments(const SlurmJobRequest& request,
                                          const std::string& batch_script_path);
// The batch script: finds MASTER_ADDR and MASTER_PORT, then srun, one task a rank.
std::string render_batch_script(const SlurmJobRequest& request);
// The script each task runs: a clean environment (env -i) holding request.env, the
// rank variables and the node's CUDA_VISIBLE_DEVICES, then exec radflow-worker.
std::string render_task_script(const SlurmJobRequest& request);

// A string as one POSIX shell word: 'it'\''s'.
std::string shell_quote(std::string_view text);

// sbatch --parsable prints "ID" or "ID;CLUSTER": the job id, or nullopt.
std::optional<std::string> parse_sbatch_job_id(std::string_view output);

// One job as squeue prints it with kSqueueFormat.
struct SlurmJobState {
  std::string job_id;
  std::string state;   // PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, NODE_FAIL, ...
  std::string reason;  // why pending (Resources, Priority, ...) or why it ended; "None"
  std::string nodes;   // the allocated node list; "" while pending
};
constexpr const char* kSqueueFormat = "%i|%T|%r|%N";
// Lines of `squeue --noheader --format=kSqueueFormat`: job id -> state. Lines that
// do not parse are skipped.
std::map<std::string, SlurmJobState> parse_squeue(std::string_view output);

enum class SlurmPhase {
  kWaiting,   // PENDING, CONFIGURING, REQUEUED, SUSPENDED, ...: not running yet
  kRunning,   // RUNNING, COMPLETING
  kEnded,     // COMPLETED, FAILED, OUT_OF_MEMORY, CANCELLED: look at the results
  kTimedOut,  // TIMEOUT, DEADLINE
  kLost,      // NODE_FAIL, PREEMPTED, BOOT_FAIL: Slurm lost it, not the plugin
};
SlurmPhase slurm_phase(const std::string& state);

// The why-waiting text of a pending job: "waiting in Slurm: Resources (slurm job 42)".
std::string slurm_waiting_text(const SlurmJobState& job);

}  // namespace radflow
