// LocalSlurm: a one-node Slurm cluster for tests, started from Debian's slurm-wlm
// and munge packages in a temporary folder: munged (as user munge, with a fresh key),
// slurmctld and slurmd in the foreground on a slurm.conf of their own. The node has
// this machine's CPUs, 2 GiB of memory and two fake GPUs (`Gres=gpu:fake:2`, backed
// by empty files: Slurm counts them but sets no CUDA_VISIBLE_DEVICES; jobs see
// SLURM_GPUS_ON_NODE). State, spool, sockets and logs live in the folder, and the
// ports are picked free, so two fixtures (ctest -j2) run side by side.
//
// Slurm's tools find this cluster through SLURM_CONF=conf_path(); pass env() to
// every sbatch/squeue/scancel. Without slurmdbd there is no sacct: jobs are followed
// with squeue, which lists them until MinJobAge (300 s here) after their end.
//
// Owns its daemons: the destructor cancels every job, stops them (SIGTERM, SIGKILL
// after 5 s) and removes the folder (kept, and printed, with RADFLOW_TEST_KEEP=1).
// Not thread-safe.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace radflow::test {

class LocalSlurm {
 public:
  // A running cluster whose node is idle, or null with `why_not` saying why it
  // could not start (not root, a binary missing, a daemon that did not come up:
  // with the end of its log). Tests GTEST_SKIP with that text.
  static std::unique_ptr<LocalSlurm> start(std::string* why_not);
  ~LocalSlurm();

  const std::string& dir() const { return dir_; }
  std::string conf_path() const { return dir_ + "/slurm.conf"; }
  // The environment Slurm's client tools need for this cluster: SLURM_CONF.
  std::map<std::string, std::string> env() const { return {{"SLURM_CONF", conf_path()}}; }
  const std::string& node_name() const { return node_; }
  const std::string& partition() const { return partition_; }

  struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
  };
  // Runs a Slurm client command (argv[0] found on PATH) against this cluster.
  CommandResult run(const std::vector<std::string>& argv) const;
  // Ids of the jobs squeue lists as pending, running, suspended or completing.
  std::vector<std::string> active_jobs() const;
  // Polls `squeue -j ID` until the job reaches one of `states` (e.g. "RUNNING")
  // or `timeout_s` passes; returns the last state seen ("" if squeue knows no such job).
  std::string wait_for_job_state(const std::string& job_id, const std::vector<std::string>& states,
                                 double timeout_s) const;

 private:
  LocalSlurm() = default;
  bool launch(std::string* why_not);
  bool wait_until_idle(double timeout_s, std::string* why_not);
  std::string log_tail(const std::string& file) const;

  std::string dir_;
  std::string node_;
  std::string partition_ = "debug";
  std::vector<pid_t> daemons_;  // munged, slurmctld, slurmd: stopped in reverse order
};

}  // namespace radflow::test
