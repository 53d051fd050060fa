#include "orchestrator/executor/slurm_executor.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "common/thread_name.h"
#include "orchestrator/executor/attempt_recovery.h"
#include "orchestrator/executor/child_env.h"
#include "orchestrator/executor/rank_spec.h"
#include "orchestrator/executor/slurm_attempt.h"
#include "orchestrator/executor/slurm_commands.h"
#include "orchestrator/executor/slurm_job.h"

extern char** environ;

namespace radflow {
namespace {

namespace fs = std::filesystem;

// The AttemptHandle the scheduler holds; the executor's poller holds the attempt too.
class SlurmHandle : public AttemptHandle {
 public:
  explicit SlurmHandle(std::shared_ptr<SlurmAttempt> attempt) : attempt_(std::move(attempt)) {}
  // The sink must outlive the handle (executor.h): wait until it has heard the end.
  ~SlurmHandle() override {
    if (!attempt_->done()) attempt_->cancel("attempt abandoned");
    attempt_->wait_until_ended();
  }
  void cancel(const std::string& why) override { attempt_->cancel(why); }
  AttemptOutcome wait() override { return attempt_->wait(); }
  bool done() const override { return attempt_->done(); }
  std::vector<int64_t> pids() const override { return {}; }
  std::string where() const override { return attempt_->where(); }
  bool detach() override { return attempt_->detach(); }

 private:
  std::shared_ptr<SlurmAttempt> attempt_;
};

Result<std::string> new_attempt_token() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    const ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0) return Status::error("io_error", "no randomness for an attempt token");
    got += static_cast<size_t>(n);
  }
  static const char* kHex = "0123456789abcdef";
  std::string token = "rfa_";
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  return token;
}

Status write_private_file(const fs::path& path, const std::string& text, mode_t mode) {
  {
    std::ofstream file(path, std::ios::trunc);
    file << text;
    if (!file) return Status::error("io_error", "cannot write " + path.string());
  }
  chmod(path.c_str(), mode);
  return Status::ok_status();
}

// The daemon's environment as the workers get it locally (child_env.h), plus the
// launch's own variables; the node's CUDA_VISIBLE_DEVICES is kept by slurm-task.sh.
std::map<std::string, std::string> worker_environment(const AttemptLaunch& l) {
  std::map<std::string, std::string> env;
  for (const std::string& entry : child_environment(environ, l.env, l.env_passthrough)) {
    const size_t eq = entry.find('=');
    env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  env.erase("CUDA_VISIBLE_DEVICES");
  env["RADFLOW_ATTEMPT_DIR"] = l.attempt_dir;
  env["RADFLOW_ATTEMPT"] = std::to_string(l.attempt_number);
  if (l.confine) env["TMPDIR"] = (fs::path(l.attempt_dir) / "tmp").string();
  return env;
}

std::string job_name(const AttemptLaunch& l) {
  return "radflow-r" + std::to_string(l.run_id) + "-" + l.step_name + "-a" +
         std::to_string(l.attempt_number);
}

}  // namespace

SlurmExecutor::SlurmExecutor(SlurmOptions options)
    : options_(std::move(options)),
      commands_(std::make_shared<SlurmCommands>(options_.command_env, options_.command_timeout_s)) {
  poller_ = std::thread([this] {
    name_this_thread("rf-slurm-poll");
    poll_loop();
  });
}

SlurmExecutor::~SlurmExecutor() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  poller_.join();
}

void SlurmExecutor::set_report_url(std::string url) {
  std::lock_guard<std::mutex> lock(mutex_);
  options_.report_url = std::move(url);
}

Result<std::unique_ptr<AttemptHandle>> SlurmExecutor::start(AttemptLaunch launch,
                                                             AttemptSink* sink) {
  RF_CHECK(launch.ranks >= 1, "an attempt needs at least one rank");
  std::string report_url;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    report_url = options_.report_url;
  }
  if (report_url.empty()) {
    return Status::error("slurm_submit_failed",
                         "the Slurm executor has no URL for its workers' events: start radflowd "
                         "with --slurm-report-url URL");
  }
  // The job writes its outputs on another machine; the daemon reads them through
  // the shared filesystem and checks them against the worker's digests.
  launch.hash_outputs = true;
  make_launch_paths_absolute(&launch);
  const fs::path dir(launch.attempt_dir);
  std::error_code ec;
  fs::create_directories(dir / "outputs", ec);
  if (!ec && launch.confine) fs::create_directories(dir / "tmp", ec);
  if (ec) {
    return Status::error("io_error", "cannot create the folders of " + dir.string() + ": " +
                                         ec.message());
  }
  RF_ASSIGN_OR_RETURN(std::string token, new_attempt_token());

  SlurmJobRequest request;
  request.job_name = job_name(launch);
  request.attempt_dir = launch.attempt_dir;
  request.worker_path = launch.worker_path;
  apply_step_resources(launch.ranks, launch.cpus, launch.memory_gb, launch.gpu_count, &request);
  request.timeout_s = launch.timeout_s;
  request.partition = options_.partition;
  request.account = options_.account;
  request.extra_args = options_.sbatch_args;
  if (auto bad = apply_step_slurm_options(launch.executor_options, &request)) {
    return Status::error("invalid_slurm_options", *bad, "slurm");
  }
  request.env = worker_environment(launch);
  request.env["RADFLOW_EVENTS_URL"] = report_url + "/api/v1/attempts/" +
                                      std::to_string(launch.attempt_id) + "/events";
  request.env["RADFLOW_EVENTS_TOKEN"] = token;

  for (int rank = 0; rank < launch.ranks; ++rank) {
    nlohmann::json spec = rank_spec_json(launch, rank);
    // GPU ranks are packed request.gpus a node (slurm_job.h), and see the node's
    // devices (CUDA_VISIBLE_DEVICES from Slurm), not the daemon's.
    if (request.gpus > 0) {
      spec["local_rank"] = rank % request.gpus;
      spec["device"] = "cuda:" + std::to_string(rank % request.gpus);
    }
    RF_RETURN_IF_ERROR(write_private_file(dir / ("rank-" + std::to_string(rank) + ".json"),
                                          spec.dump(2), 0600));
  }
  // The task script holds the token: readable by the daemon's user only (jobs run as it).
  RF_RETURN_IF_ERROR(write_private_file(dir / "slurm-task.sh", render_task_script(request), 0700));
  const fs::path batch = dir / "slurm-batch.sh";
  RF_RETURN_IF_ERROR(write_private_file(batch, render_batch_script(request), 0700));

  auto job_id = commands_->submit(sbatch_arguments(request, batch.string()));
  if (!job_id.ok()) return job_id.status();
  SlurmJobRecord record{job_id.value(), token};
  if (Status written = write_job_record(launch.attempt_dir, record); !written.ok()) {
    (void)commands_->cancel(record.job_id);
    return written;
  }
  spdlog::info("attempt {} ({}) submitted as slurm job {}", launch.attempt_id, request.job_name,
               record.job_id);
  auto attempt = std::make_shared<SlurmAttempt>(std::move(launch), sink, record, commands_);
  follow(attempt);
  return std::unique_ptr<AttemptHandle>(std::make_unique<SlurmHandle>(attempt));
}

Executor::Limits SlurmExecutor::limits() const {
  Limits limits;
  limits.resources = ResourceOwner::kExecutor;
  return limits;
}

RecoveredAttempt SlurmExecutor::recover(const AttemptLaunch& original, AttemptSink* sink) {
  AttemptLaunch launch = original;
  make_launch_paths_absolute(&launch);
  RecoveredAttempt recovered;
  auto finished = [&]() {
    if (auto result = read_attempt_result(launch.attempt_dir, launch.ranks)) {
      recovered.state = RecoveredAttempt::State::kFinished;
      recovered.outcome = std::move(*result);
    }
    return std::move(recovered);
  };
  const auto record = read_job_record(launch.attempt_dir);
  if (!record) return finished();
  auto jobs = commands_->jobs();
  bool still_there = true;  // slurmctld unreachable: follow the job until it answers
  if (jobs.ok()) {
    auto it = jobs->find(record->job_id);
    still_there = it != jobs->end() && (slurm_phase(it->second.state) == SlurmPhase::kWaiting ||
                                        slurm_phase(it->second.state) == SlurmPhase::kRunning);
  } else {
    spdlog::warn("recovering slurm job {}: {}", record->job_id, jobs.status().message());
  }
  if (!still_there) return finished();
  spdlog::info("attempt {}: adopted slurm job {}", launch.attempt_id, record->job_id);
  auto attempt = std::make_shared<SlurmAttempt>(std::move(launch), sink, *record, commands_);
  follow(attempt);
  recovered.state = RecoveredAttempt::State::kAdopted;
  recovered.handle = std::make_unique<SlurmHandle>(attempt);
  return recovered;
}

Result<std::shared_ptr<SlurmAttempt>> SlurmExecutor::followed(int64_t attempt_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = attempts_.find(attempt_id);
  if (it == attempts_.end()) {
    return Status::error("invalid_token",
                         "no running attempt has this id and token (a restarted daemon knows "
                         "its running attempts again once it has recovered them)");
  }
  return it->second;
}

Status SlurmExecutor::deliver_events(int64_t attempt_id, std::string_view token, int rank,
                                     std::string_view lines) {
  RF_ASSIGN_OR_RETURN(std::shared_ptr<SlurmAttempt> attempt, followed(attempt_id));
  return attempt->deliver(token, rank, lines);
}

Status SlurmExecutor::check_token(int64_t attempt_id, std::string_view token) {
  RF_ASSIGN_OR_RETURN(std::shared_ptr<SlurmAttempt> attempt, followed(attempt_id));
  return attempt->check_token(token);
}

void SlurmExecutor::follow(std::shared_ptr<SlurmAttempt> attempt) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    attempts_[attempt->attempt_id()] = std::move(attempt);
  }
  wake_.notify_all();
}

void SlurmExecutor::poll_loop() {
  const auto interval = std::chrono::duration<double>(options_.poll_interval_s);
  bool warned = false;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval, [this] { return stopping_; });
    if (stopping_) break;
    std::vector<std::shared_ptr<SlurmAttempt>> followed;
    for (const auto& [id, attempt] : attempts_) followed.push_back(attempt);
    if (followed.empty()) continue;
    lock.unlock();
    auto jobs = commands_->jobs();
    if (jobs.ok()) {
      warned = false;
      const auto now = std::chrono::steady_clock::now();
      for (const auto& attempt : followed) {
        auto it = jobs->find(attempt->job_id());
        attempt->observe(it == jobs->end() ? nullptr : &it->second, now);
      }
    } else if (!warned) {
      // The jobs keep running; their state is read again at the next poll.
      spdlog::warn("cannot read the Slurm queue: {}", jobs.status().message());
      warned = true;
    }
    lock.lock();
    for (auto it = attempts_.begin(); it != attempts_.end();) {
      it = it->second->done() ? attempts_.erase(it) : std::next(it);
    }
  }
}

}  // namespace radflow
