#include "orchestrator/executor/slurm_job.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace radflow {
namespace {

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

std::string field(std::string_view line, size_t index) {
  size_t start = 0;
  for (size_t i = 0; i < index; ++i) {
    start = line.find('|', start);
    if (start == std::string_view::npos) return "";
    ++start;
  }
  const size_t end = line.find('|', start);
  return std::string(line.substr(start, end == std::string_view::npos ? end : end - start));
}

}  // namespace

void apply_step_resources(int ranks, double cpus, double memory_gb, int gpu_count,
                          SlurmJobRequest* r) {
  ranks = std::max(1, ranks);
  r->ranks = ranks;
  r->gpus = std::max(0, gpu_count);
  r->cpus_per_task = std::max(1.0, cpus / ranks);
  const int ranks_per_node = r->gpus > 0 ? std::min(r->gpus, ranks) : ranks;
  r->memory_mb = memory_gb > 0 ? static_cast<int64_t>(std::ceil(memory_gb * 1024 *
                                                                 ranks_per_node / ranks))
                               : 0;
}

std::optional<std::string> apply_step_slurm_options(const nlohmann::json& options,
                                                    SlurmJobRequest* request) {
  if (options.is_null()) return std::nullopt;
  if (!options.is_object()) return "slurm: must be an object";
  for (const auto& [key, value] : options.items()) {
    const std::string path = "slurm." + key;
    if (key == "partition" || key == "account") {
      if (!value.is_string()) return path + ": must be a string";
      (key == "partition" ? request->partition : request->account) = value.get<std::string>();
    } else if (key == "cpus_per_task") {
      if (!value.is_number() || value.get<double>() <= 0) return path + ": must be a number > 0";
      request->cpus_per_task = value.get<double>();
    } else if (key == "memory_mb") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        return path + ": must be an integer >= 0";
      }
      request->memory_mb = value.get<int64_t>();
    } else if (key == "sbatch_args") {
      if (!value.is_array()) return path + ": must be an array of strings";
      for (const auto& arg : value) {
        if (!arg.is_string()) return path + ": must be an array of strings";
        request->extra_args.push_back(arg.get<std::string>());
      }
    } else {
      return path + ": unknown option (known: partition, account, cpus_per_task, memory_mb, "
                    "sbatch_args)";
    }
  }
  return std::nullopt;
}

std::string slurm_time_limit(double timeout_s) {
  if (!(timeout_s > 0)) return "";
  const double minutes = std::ceil(timeout_s / 60.0);
  return std::to_string(static_cast<int64_t>(std::max(1.0, minutes)));
}

std::vector<std::string> sbatch_arguments(const SlurmJobRequest& r,
                                          const std::string& batch_script_path) {
  std::vector<std::string> args = {
      "--parsable",
      "--job-name=" + r.job_name,
      "--chdir=" + r.attempt_dir,
      "--output=" + r.attempt_dir + "/slurm-%j.out",
      "--ntasks=" + std::to_string(r.ranks),
      // CPUs per task are whole numbers in Slurm.
      "--cpus-per-task=" + std::to_string(static_cast<int>(std::ceil(r.cpus_per_task))),
      // radflow retries a lost attempt itself (from its checkpoint); a job Slurm
      // requeued behind its back would run twice.
      "--no-requeue",
      // The workers' environment is written out in slurm-task.sh, not inherited.
      "--export=NONE",
  };
  if (r.gpus > 0) {
    args.push_back("--gres=gpu:" + std::to_string(r.gpus));
    // GPU ranks are packed gpus a node, so rank % gpus is the rank's device there.
    if (r.ranks > 1) args.push_back("--ntasks-per-node=" + std::to_string(std::min(r.gpus, r.ranks)));
  }
  if (r.memory_mb > 0) args.push_back("--mem=" + std::to_string(r.memory_mb) + "M");
  if (const std::string time = slurm_time_limit(r.timeout_s); !time.empty()) {
    args.push_back("--time=" + time);
  }
  if (!r.partition.empty()) args.push_back("--partition=" + r.partition);
  if (!r.account.empty()) args.push_back("--account=" + r.account);
  for (const auto& extra : r.extra_args) args.push_back(extra);
  args.push_back(batch_script_path);
  return args;
}

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string render_batch_script(const SlurmJobRequest& r) {
  const std::string dir = shell_quote(r.attempt_dir);
  std::ostringstream s;
  s << "#!/bin/sh\n"
    << "# radflow attempt " << r.job_name << ": one task per rank (docs/slurm.md).\n"
    << "set -eu\n"
    << "MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)\n"
    << "MASTER_PORT=$(" << shell_quote(r.worker_path) << " --free-port)\n"
    << "export MASTER_ADDR MASTER_PORT\n"
    // --export=NONE above reaches srun as SLURM_EXPORT_ENV; the tasks need these two.
    << "srun --export=ALL --kill-on-bad-exit=1 --ntasks=" << r.ranks
    << " --output=" << dir << "/rank-%t.out --error=" << dir << "/rank-%t.err /bin/sh "
    << dir << "/slurm-task.sh\n";
  return s.str();
}

std::string render_task_script(const SlurmJobRequest& r) {
  std::ostringstream s;
  s << "#!/bin/sh\n"
    << "# One rank of radflow attempt " << r.job_name << ", started by srun.\n"
    << "tasks_here=${SLURM_TASKS_PER_NODE%%(*}\n"
    << "tasks_here=${tasks_here%%,*}\n"
    << "cd " << shell_quote(r.attempt_dir) << " || exit 1\n"
    << "umask 077\n"
    << "exec env -i";
  for (const auto& [name, value] : r.env) {
    if (name == "CUDA_VISIBLE_DEVICES") continue;  // the node's, below
    s << " \\\n  " << name << "=" << shell_quote(value);
  }
  s << " \\\n  RANK=\"$SLURM_PROCID\" WORLD_SIZE=\"$SLURM_NTASKS\""
    << " LOCAL_RANK=\"$SLURM_LOCALID\" LOCAL_WORLD_SIZE=\"$tasks_here\""
    << " \\\n  MASTER_ADDR=\"$MASTER_ADDR\" MASTER_PORT=\"$MASTER_PORT\""
    // Slurm sets it for real GPUs; empty hides every device from a CPU step.
    << " \\\n  CUDA_VISIBLE_DEVICES=\"${CUDA_VISIBLE_DEVICES-}\""
    << " \\\n  SLURM_JOB_ID=\"$SLURM_JOB_ID\" SLURM_JOB_GPUS=\"${SLURM_JOB_GPUS-}\""
    << " SLURM_STEP_GPUS=\"${SLURM_STEP_GPUS-}\""
    << " \\\n  " << shell_quote(r.worker_path) << " --attempt " << shell_quote(r.attempt_dir)
    << "/rank-\"$SLURM_PROCID\".json\n";
  return s.str();
}

std::optional<std::string> parse_sbatch_job_id(std::string_view output) {
  const size_t end = output.find_first_of(";\n");
  std::string id(output.substr(0, end));
  if (id.empty()) return std::nullopt;
  for (char c : id) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return id;
}

std::map<std::string, SlurmJobState> parse_squeue(std::string_view output) {
  std::map<std::string, SlurmJobState> jobs;
  std::istringstream lines{std::string(output)};
  for (std::string line; std::getline(lines, line);) {
    if (std::count(line.begin(), line.end(), '|') < 3) continue;
    SlurmJobState job;
    job.job_id = field(line, 0);
    job.state = field(line, 1);
    job.reason = field(line, 2);
    job.nodes = field(line, 3);
    if (job.job_id.empty() || job.state.empty()) continue;
    jobs[job.job_id] = job;
  }
  return jobs;
}

SlurmPhase slurm_phase(const std::string& state) {
  static const std::set<std::string> running = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING"};
  static const std::set<std::string> ended = {"COMPLETED", "FAILED", "OUT_OF_MEMORY",
                                              "CANCELLED", "SPECIAL_EXIT"};
  static const std::set<std::string> timed_out = {"TIMEOUT", "DEADLINE"};
  static const std::set<std::string> lost = {"NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "REVOKED"};
  if (running.count(state)) return SlurmPhase::kRunning;
  if (ended.count(state)) return SlurmPhase::kEnded;
  if (timed_out.count(state)) return SlurmPhase::kTimedOut;
  if (lost.count(state)) return SlurmPhase::kLost;
  return SlurmPhase::kWaiting;
}

std::string slurm_waiting_text(const SlurmJobState& job) {
  const std::string reason = job.reason.empty() || job.reason == "None" ? job.state : job.reason;
  return "waiting in Slurm: " + reason + " (slurm job " + job.job_id + ")";
}

}  // namespace radflow
