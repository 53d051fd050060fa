#include "orchestrator/executor/slurm_commands.h"

#include "orchestrator/executor/process.h"

namespace radflow {
namespace {

// Slurm's words, without the trailing newline, for a message.
std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

SlurmCommands::SlurmCommands(std::map<std::string, std::string> env, double timeout_s)
    : env_(std::move(env)), timeout_s_(timeout_s) {}

Result<SlurmCommands::Output> SlurmCommands::run(const std::string& program,
                                                 const std::vector<std::string>& args) const {
  ProcessSpec spec;
  // ChildProcess execs a path: find the program on the daemon's PATH like a shell.
  spec.argv = {"/usr/bin/env", program};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env_set = env_;
  spec.env_passthrough = {"SLURM_CONF"};
  RF_ASSIGN_OR_RETURN(CapturedRun captured, run_captured(spec, timeout_s_));
  Output output;
  output.exit_code = captured.exit.signal != 0 ? 128 + captured.exit.signal : captured.exit.exit_code;
  output.out = std::move(captured.out);
  output.err = std::move(captured.err);
  return output;
}

Result<std::string> SlurmCommands::submit(const std::vector<std::string>& sbatch_args) const {
  auto output = run("sbatch", sbatch_args);
  if (!output.ok()) return Status::error("slurm_submit_failed", "sbatch: " + output.status().message());
  if (output->exit_code != 0) {
    return Status::error("slurm_submit_failed", "sbatch refused the job: " + trimmed(output->err));
  }
  auto id = parse_sbatch_job_id(output->out);
  if (!id) {
    return Status::error("slurm_submit_failed",
                         "sbatch printed no job id: '" + trimmed(output->out) + "'");
  }
  return *id;
}

Result<std::map<std::string, SlurmJobState>> SlurmCommands::jobs() const {
  auto output = run("squeue", {"--me", "--noheader", "--states=all",
                               std::string("--format=") + kSqueueFormat});
  if (!output.ok()) return Status::error("slurm_unreachable", "squeue: " + output.status().message());
  if (output->exit_code != 0) {
    return Status::error("slurm_unreachable", "squeue failed: " + trimmed(output->err));
  }
  return parse_squeue(output->out);
}

Status SlurmCommands::cancel(const std::string& job_id) const {
  auto output = run("scancel", {job_id});
  if (!output.ok()) return Status::error("slurm_cancel_failed", "scancel: " + output.status().message());
  if (output->exit_code != 0) {
    return Status::error("slurm_cancel_failed",
                         "scancel " + job_id + " failed: " + trimmed(output->err));
  }
  return Status::ok_status();
}

}  // namespace radflow
