// SlurmCommands: the three Slurm client commands the executor runs (sbatch, squeue,
// scancel), each a short child process with a bounded run time. The commands see
// the allowlisted environment (child_env.h) plus SLURM_CONF and `env`. Parsing is
// in slurm_job.h. Thread-safe (each call is its own process).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "orchestrator/executor/slurm_job.h"

namespace radflow {

class SlurmCommands {
 public:
  SlurmCommands(std::map<std::string, std::string> env, double timeout_s);

  // sbatch ARGS: the new job's id. Fails with "slurm_submit_failed" and sbatch's
  // own words (an unknown partition, an account the user may not use).
  Result<std::string> submit(const std::vector<std::string>& sbatch_args) const;
  // Every job of this user that slurmctld still knows (ended ones for MinJobAge).
  // Fails with "slurm_unreachable" when squeue fails (slurmctld down).
  Result<std::map<std::string, SlurmJobState>> jobs() const;
  // scancel ID: every step and rank of the job.
  Status cancel(const std::string& job_id) const;

 private:
  struct Output {
    int exit_code = -1;
    std::string out;
    std::string err;
  };
  Result<Output> run(const std::string& program, const std::vector<std::string>& args) const;

  std::map<std::string, std::string> env_;
  double timeout_s_;
};

}  // namespace radflow
