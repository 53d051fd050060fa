#include "orchestrator/executor/slurm_attempt.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "orchestrator/executor/attempt_recovery.h"
#include "orchestrator/executor/slurm_job.h"

namespace radflow {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// What a rank printed to its srun output files that reaches the attempt's log; the
// files stay in the attempt folder whole.
constexpr std::streamoff kMaxRankFileBytes = 4 << 20;

bool same_token(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string file_tail(const fs::path& path, std::streamoff max_bytes) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return "";
  file.seekg(0, std::ios::end);
  const std::streamoff size = file.tellg();
  file.seekg(size > max_bytes ? size - max_bytes : 0);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", seconds);
  return text;
}

}  // namespace

Status write_job_record(const std::string& attempt_dir, const SlurmJobRecord& record) {
  const fs::path path = fs::path(attempt_dir) / "slurm-job.json";
  const std::string temp = path.string() + ".tmp";
  {
    std::ofstream file(temp, std::ios::trunc);
    file << nlohmann::json{{"job_id", record.job_id}, {"token", record.token}}.dump();
    if (!file) return Status::error("io_error", "cannot write " + temp);
  }
  chmod(temp.c_str(), 0600);  // the token authenticates the attempt's event posts
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) return Status::error("io_error", "cannot write " + path.string() + ": " + ec.message());
  return Status::ok_status();
}

std::optional<SlurmJobRecord> read_job_record(const std::string& attempt_dir) {
  std::ifstream file(fs::path(attempt_dir) / "slurm-job.json");
  auto json = nlohmann::json::parse(file, nullptr, false);
  if (!json.is_object() || !json.value("job_id", nlohmann::json()).is_string() ||
      !json.value("token", nlohmann::json()).is_string()) {
    return std::nullopt;
  }
  SlurmJobRecord record{json["job_id"].get<std::string>(), json["token"].get<std::string>()};
  if (!parse_sbatch_job_id(record.job_id) || record.token.empty()) return std::nullopt;
  return record;
}

SlurmAttempt::SlurmAttempt(AttemptLaunch launch, AttemptSink* sink, SlurmJobRecord job,
                           std::shared_ptr<const SlurmCommands> commands)
    : launch_(std::move(launch)), sink_(sink), job_(std::move(job)), commands_(std::move(commands)) {
  for (int rank = 0; rank < launch_.ranks; ++rank) ranks_.emplace_back(rank);
}

Status SlurmAttempt::check_token(std::string_view token) {
  std::lock_guard<std::mutex> lock(sink_mutex_);
  return token_status(token);
}

Status SlurmAttempt::token_status(std::string_view token) const {
  if (sink_closed_ || !same_token(token, job_.token)) {
    return Status::error("invalid_token", "no running attempt has this id and token");
  }
  return Status::ok_status();
}

Status SlurmAttempt::deliver(std::string_view token, int rank, std::string_view lines) {
  std::lock_guard<std::mutex> lock(sink_mutex_);
  RF_RETURN_IF_ERROR(token_status(token));
  if (rank < 0 || rank >= launch_.ranks) {
    return Status::error("invalid_request", "rank " + std::to_string(rank) + " is not in 0.." +
                                                std::to_string(launch_.ranks - 1), "rank");
  }
  SinkBatch batch;
  ranks_[rank].append(WorkerStream::kEvents, lines, &batch);
  if (sink_ != nullptr) {
    if (!batch.logs.empty()) sink_->on_logs(std::move(batch.logs));
    if (!batch.metrics.empty()) sink_->on_metrics(std::move(batch.metrics));
    if (batch.progress) sink_->on_progress(batch.progress->first, batch.progress->second);
  }
  return Status::ok_status();
}

void SlurmAttempt::observe(const SlurmJobState* job, Clock::time_point now) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (done_) return;
  const SlurmPhase phase = job != nullptr ? slurm_phase(job->state) : SlurmPhase::kLost;
  if (job != nullptr && !job->nodes.empty()) nodes_ = job->nodes;
  if (phase == SlurmPhase::kWaiting) {
    if (running_since_ && stop_reason_.empty()) {
      // Ran, and waits again: Slurm requeued it. radflow retries lost attempts itself.
      lock.unlock();
      spdlog::warn("slurm job {} was requeued by Slurm; stopping it, the attempt is lost",
                   job_.job_id);
      (void)commands_->cancel(job_.job_id);
      end(job, "lost");
      return;
    }
    const std::string text = slurm_waiting_text(*job);
    if (text == waiting_text_) return;
    waiting_text_ = text;
    lock.unlock();
    std::lock_guard<std::mutex> sink_lock(sink_mutex_);
    if (sink_ != nullptr && !sink_closed_) {
      sink_->on_logs({{0, epoch_ms_now(), "info", "radflow", text}});
      sink_->on_progress(0, text);
    }
    return;
  }
  if (phase == SlurmPhase::kRunning) {
    if (!running_since_) running_since_ = now;
    if (job->state == "COMPLETING") {
      // The batch script has ended; Slurm usually lets go within seconds. A node
      // that does not answer keeps the job COMPLETING much longer, and the attempt
      // must not wait on it: what the ranks wrote decides.
      if (!completing_since_) completing_since_ = now;
      if (now - *completing_since_ >= std::chrono::duration<double>(kCompletingGraceS)) {
        lock.unlock();
        spdlog::warn("slurm job {} has been COMPLETING for {} s; ending its attempt",
                     job_.job_id, seconds_text(kCompletingGraceS));
        end(job, "");
        return;
      }
    }
    const auto limit = std::chrono::duration<double>(launch_.timeout_s);
    if (launch_.timeout_s > 0 && stop_reason_.empty() && now - *running_since_ >= limit) {
      stop_reason_ = "timeout";
      lock.unlock();
      stop_job("timeout");
    }
    return;
  }
  lock.unlock();
  end(job, "");
}

void SlurmAttempt::stop_job(const std::string& reason) {
  Status cancelled = commands_->cancel(job_.job_id);
  if (!cancelled.ok()) {
    spdlog::warn("cannot stop slurm job {} ({}): {}", job_.job_id, reason, cancelled.message());
  }
}

void SlurmAttempt::cancel(const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (done_ || !stop_reason_.empty()) return;
    stop_reason_ = "cancelled";
    cancel_message_ = why;
  }
  stop_job("cancelled");
}

bool SlurmAttempt::detach() {
  std::lock_guard<std::mutex> sink_lock(sink_mutex_);
  if (sink_closed_) return false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (done_ || !stop_reason_.empty()) return false;
    outcome_.status = "cancelled";
    outcome_.reason = "detached";
    outcome_.message = "slurm job " + job_.job_id + " runs on without this daemon";
    done_ = true;
    ended_ = true;
  }
  sink_closed_ = true;
  done_cv_.notify_all();
  spdlog::info("attempt {}: slurm job {} left running for the next daemon to adopt",
               launch_.attempt_id, job_.job_id);
  return true;
}

AttemptOutcome SlurmAttempt::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [this] { return done_; });
  return outcome_;
}

bool SlurmAttempt::done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

std::string SlurmAttempt::where() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return "slurm job " + job_.job_id + (nodes_.empty() ? "" : " on " + nodes_);
}

void SlurmAttempt::end(const SlurmJobState* job, const std::string& forced_reason) {
  std::lock_guard<std::mutex> sink_lock(sink_mutex_);
  if (sink_closed_) return;
  // What the ranks printed (srun --output/--error files on the shared filesystem)
  // reaches the log now, and the stderr tail a failure's message.
  SinkBatch batch;
  const fs::path dir(launch_.attempt_dir);
  for (int rank = 0; rank < launch_.ranks; ++rank) {
    const std::string stem = "rank-" + std::to_string(rank);
    ranks_[rank].append(WorkerStream::kStdout, file_tail(dir / (stem + ".out"), kMaxRankFileBytes), &batch);
    ranks_[rank].finish(WorkerStream::kStdout, &batch);
    ranks_[rank].append(WorkerStream::kStderr, file_tail(dir / (stem + ".err"), kMaxRankFileBytes), &batch);
    ranks_[rank].finish(WorkerStream::kStderr, &batch);
  }
  if (sink_ != nullptr && !batch.logs.empty()) sink_->on_logs(std::move(batch.logs));

  AttemptOutcome outcome;
  std::string stop_reason;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_reason = forced_reason.empty() ? stop_reason_ : forced_reason;
    outcome.message = cancel_message_;
  }
  if (stop_reason == "cancelled") {
    outcome.status = "cancelled";
    outcome.reason = "cancelled";
  } else if (stop_reason == "timeout") {
    outcome.status = "failed";
    outcome.reason = "timeout";
    outcome.message = "the attempt ran past timeout_s = " + seconds_text(launch_.timeout_s) +
                      " s and was stopped (scancel " + job_.job_id + ")";
  } else if (stop_reason == "lost") {
    outcome.status = "failed";
    outcome.reason = "lost";
    outcome.message = "slurm job " + job_.job_id + " was requeued by Slurm; stopped, to be retried";
  } else if (auto result = read_attempt_result(launch_.attempt_dir, launch_.ranks)) {
    outcome = std::move(*result);
  } else {
    outcome = failure_from_slurm(job);
  }
  if (outcome.outputs.empty() && outcome.status == "succeeded") outcome.outputs = ranks_[0].outputs();
  // done() is true before on_finished(), which may ask (executor.h); the handle's
  // destructor waits for ended_, so the sink outlives this call.
  {
    std::lock_guard<std::mutex> lock(mutex_);
    outcome_ = outcome;
    done_ = true;
  }
  done_cv_.notify_all();
  sink_closed_ = true;
  if (sink_ != nullptr) sink_->on_finished(outcome);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ended_ = true;
  }
  done_cv_.notify_all();
}

void SlurmAttempt::wait_until_ended() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [this] { return ended_; });
}

AttemptOutcome SlurmAttempt::failure_from_slurm(const SlurmJobState* job) const {
  AttemptOutcome out;
  out.status = "failed";
  const std::string name = "slurm job " + job_.job_id;
  if (job == nullptr) {
    out.reason = "lost";
    out.message = name + " is gone from Slurm (squeue no longer lists it) and left no result";
    return out;
  }
  const std::string said = job->state + (job->reason.empty() || job->reason == "None"
                                             ? ""
                                             : " (" + job->reason + ")");
  switch (slurm_phase(job->state)) {
    case SlurmPhase::kLost:
      out.reason = "lost";
      out.message = name + " ended " + said + ": Slurm lost it; the attempt is retried";
      return out;
    case SlurmPhase::kTimedOut:
      out.reason = "timeout";
      out.message = name + " reached its Slurm time limit (" + said + ")";
      return out;
    default:
      break;
  }
  if (job->state == "OUT_OF_MEMORY") {
    out.reason = "killed";
    out.message = name + " ran out of memory (--mem; set resources.memory_gb or slurm.memory_mb)";
  } else if (job->state == "CANCELLED") {
    out.reason = "killed";
    out.message = name + " was cancelled outside radflow (scancel)";
  } else {
    out.reason = "worker_exited";
    out.message = name + " ended " + said + " without a result from every rank";
  }
  for (const auto& rank : ranks_) {
    if (const std::string tail = rank.stderr_tail(); !tail.empty()) {
      out.message += "; last stderr lines:" + tail;
      break;
    }
  }
  if (const std::string batch = file_tail(fs::path(launch_.attempt_dir) /
                                              ("slurm-" + job_.job_id + ".out"), 2048);
      !batch.empty()) {
    out.message += "; batch script output: " + batch;
  }
  return out;
}

}  // namespace radflow
