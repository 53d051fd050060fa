#include "orchestrator/executor/attempt.h"

#include "common/thread_name.h"
#include "orchestrator/executor/attempt_recovery.h"
#include "orchestrator/executor/fork_servers.h"
#include "orchestrator/executor/process_tree.h"
#include "orchestrator/executor/rank_output.h"
#include "orchestrator/executor/rank_spec.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>

namespace radflow {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// After every rank has exited, how long pipes held open by grandchildren may keep
// the attempt from finishing.
constexpr auto kDrainAfterExit = std::chrono::milliseconds(1500);
// How long stopping a worker's descendants may take before the monitor moves on.
constexpr auto kKillDescendantsTimeout = std::chrono::milliseconds(2000);

// The monitor sleeps in poll() on each rank's exit notifier (ChildProcess::
// open_exit_notifier) until something happens. Where the kernel has no pidfd_open
// (before 5.3) it polls every kExitPollMs instead.
constexpr int kExitPollMs = 20;

// Milliseconds from now until `t`, rounded up so a wake-up is never early; 0 if past.
int ms_until(Clock::time_point now, Clock::time_point t) {
  if (t <= now) return 0;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count() + 1;
  return static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

bool rank_failed(const ChildProcess& child, const RankOutput& output) {
  auto exit = child.exit_info();
  if (!exit) return false;
  if (exit->signal != 0 || exit->exit_code != 0) return true;
  return !output.end_event() || output.end_event()->status != "succeeded";
}

AttemptOutcome outcome_of_rank(int rank, const ChildProcess& child, const RankOutput& output) {
  AttemptOutcome out;
  const ExitInfo exit = child.exit_info().value_or(ExitInfo{});
  out.exit_code = exit.exit_code;
  out.signal = exit.signal;
  const std::string tail = output.stderr_tail();
  if (exit.signal != 0) {
    out.status = "failed";
    out.reason = exit.signal == SIGABRT ? "aborted" : exit.signal == SIGKILL ? "killed" : "crashed";
    out.message = "worker (rank " + std::to_string(rank) + ") was killed by " +
                  signal_name(exit.signal);
    if (exit.signal == SIGKILL) out.message += " (out of memory, or killed from outside)";
    if (!tail.empty()) out.message += "; last stderr lines:" + tail;
  } else if (const auto& end = output.end_event()) {
    out.status = end->status;
    out.reason = end->reason;
    out.message = end->message;
  } else {
    out.status = "failed";
    out.reason = "worker_exited";
    out.message = "worker (rank " + std::to_string(rank) + ") exited with code " +
                  std::to_string(exit.exit_code) + " without reporting a result";
    if (!tail.empty()) out.message += "; last stderr lines:" + tail;
  }
  out.outputs = output.outputs();
  return out;
}

}  // namespace

RunningAttempt::RunningAttempt(AttemptLaunch launch, AttemptSink* sink)
    : launch_(std::move(launch)), sink_(sink), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

RunningAttempt::~RunningAttempt() {
  cancel("attempt abandoned");
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

Result<std::unique_ptr<RunningAttempt>> RunningAttempt::start(AttemptLaunch launch,
                                                               AttemptSink* sink) {
  RF_CHECK(launch.ranks >= 1, "an attempt needs at least one rank");
  // The workers run in the attempt folder: relative paths would point elsewhere there.
  make_launch_paths_absolute(&launch);
  std::error_code ec;
  const fs::path dir(launch.attempt_dir);
  fs::create_directories(dir / "outputs", ec);
  if (!ec && launch.confine) fs::create_directories(dir / "tmp", ec);
  if (ec) {
    return Status::error("io_error", "cannot create the folders of " + dir.string() + ": " +
                                         ec.message());
  }
  int master_port = 0;
  if (launch.ranks > 1) {
    RF_ASSIGN_OR_RETURN(master_port, find_free_loopback_port());
  }
  std::string visible;
  for (size_t i = 0; i < launch.gpus.size(); ++i) {
    visible += (i ? "," : "") + std::to_string(launch.gpus[i]);
  }

  std::unique_ptr<RunningAttempt> attempt(new RunningAttempt(std::move(launch), sink));
  const AttemptLaunch& l = attempt->launch_;
  for (int rank = 0; rank < l.ranks; ++rank) {
    const nlohmann::json spec = rank_spec_json(l, rank);
    const fs::path spec_path = dir / ("rank-" + std::to_string(rank) + ".json");
    {
      std::ofstream file(spec_path);
      file << spec.dump(2);
      if (!file) return Status::error("io_error", "cannot write " + spec_path.string());
    }
    ProcessSpec process;
    process.argv = {l.worker_path, "--attempt", spec_path.string()};
    process.working_dir = dir.string();
    process.env_passthrough = l.env_passthrough;
    process.env_set = l.env;
    process.env_set["RANK"] = std::to_string(rank);
    process.env_set["LOCAL_RANK"] = std::to_string(rank);
    process.env_set["WORLD_SIZE"] = std::to_string(l.ranks);
    process.env_set["LOCAL_WORLD_SIZE"] = std::to_string(l.ranks);
    process.env_set["MASTER_ADDR"] = "127.0.0.1";
    process.env_set["MASTER_PORT"] = std::to_string(master_port);
    // An empty list hides every GPU: a CPU step must not grab a device by accident.
    process.env_set["CUDA_VISIBLE_DEVICES"] = visible;
    process.env_set["RADFLOW_ATTEMPT_DIR"] = dir.string();
    process.env_set["RADFLOW_ATTEMPT"] = std::to_string(l.attempt_number);
    // /tmp is out of a confined worker's reach; its temporary files stay in the attempt.
    if (l.confine) process.env_set["TMPDIR"] = (dir / "tmp").string();
    auto child = spawn_worker(process, l.plugin_path, l.plugin_dir);
    if (!child.ok()) {
      attempt->ranks_.clear();  // kills the ranks already started
      return child.status();
    }
    attempt->ranks_.push_back(std::move(child).value());
  }
  record_workers(dir, attempt->pids());
  attempt->thread_ = std::thread([raw = attempt.get()] {
    name_this_thread("rf-attempt");
    raw->monitor();
  });
  return attempt;
}

std::vector<int64_t> RunningAttempt::pids() const {
  std::vector<int64_t> pids;
  for (const auto& child : ranks_) pids.push_back(child.pid());
  return pids;
}

void RunningAttempt::cancel(const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancel_requested_.load()) return;
  cancel_reason_ = why;
  cancel_requested_ = true;
  // Wakes the monitor out of poll(): a cancel is acted on at once, not at a tick.
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
}

AttemptOutcome RunningAttempt::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [this] { return done_.load(); });
  return outcome_;
}

void RunningAttempt::monitor() {
  const int world = static_cast<int>(ranks_.size());
  std::vector<RankOutput> states;
  for (int r = 0; r < world; ++r) states.emplace_back(r);
  const auto started = Clock::now();
  std::optional<Clock::time_point> deadline;
  if (launch_.timeout_s > 0) {
    deadline = started + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(launch_.timeout_s));
  }
  std::string stop_reason;  // "", "cancelled", "timeout", "rank_failed"
  int failed_rank = -1;
  std::optional<Clock::time_point> kill_at;
  std::optional<Clock::time_point> all_exited_at;
  const auto grace = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(launch_.grace_s));

  SinkBatch batch;

  auto signal_all = [&](int sig) {
    for (auto& child : ranks_) {
      if (!child.exit_info()) child.signal_group(sig);
    }
  };
  // A descendant that called setsid() is out of the group; radflow-worker is a child
  // subreaper, so while it lives every descendant is still in its tree.
  auto kill_everything = [&] {
    for (auto& child : ranks_) {
      if (!child.exit_info()) kill_descendants(child.pid(), kKillDescendantsTimeout);
      child.signal_group(SIGKILL);
    }
  };
  auto begin_stop = [&](std::string reason) {
    stop_reason = std::move(reason);
    signal_all(SIGTERM);
    kill_at = Clock::now() + grace;
  };

  // One pidfd per rank until it is reaped; -1 once reaped or where unsupported.
  std::vector<int> pidfds(world, -1);
  bool exits_polled = true;  // every live rank has a pidfd
  for (int r = 0; r < world; ++r) {
    pidfds[r] = ranks_[r].open_exit_notifier();
    exits_polled &= pidfds[r] >= 0;
  }
  char buffer[1 << 16];
  while (true) {
    std::vector<pollfd> fds;
    std::vector<std::pair<int, WorkerStream>> owners;  // per pipe pollfd
    for (int r = 0; r < world; ++r) {
      const int stream_fds[3] = {ranks_[r].stdout_fd(), ranks_[r].stderr_fd(),
                                 ranks_[r].events_fd()};
      for (int s = 0; s < 3; ++s) {
        if (stream_fds[s] >= 0) {
          fds.push_back({stream_fds[s], POLLIN, 0});
          owners.emplace_back(r, static_cast<WorkerStream>(s));
        }
      }
    }
    const size_t pipe_count = fds.size();
    for (int r = 0; r < world; ++r) {
      if (pidfds[r] >= 0) fds.push_back({pidfds[r], POLLIN, 0});
    }
    if (wake_fd_ >= 0) fds.push_back({wake_fd_, POLLIN, 0});
    // Sleep until a pipe has bytes, a rank exits, a cancel arrives or a deadline
    // (timeout, SIGKILL after the grace period, end of the drain) is due.
    {
      const auto now = Clock::now();
      int timeout_ms = -1;
      auto until = [&](Clock::time_point t) {
        const int ms = ms_until(now, t);
        timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
      };
      if (deadline && stop_reason.empty()) until(*deadline);
      if (kill_at) until(*kill_at);
      if (all_exited_at) until(*all_exited_at + kDrainAfterExit);
      if (!exits_polled || wake_fd_ < 0) until(now + std::chrono::milliseconds(kExitPollMs));
      poll(fds.data(), fds.size(), timeout_ms);
    }
    if (wake_fd_ >= 0 && (fds.back().revents & POLLIN) != 0) {
      uint64_t count = 0;
      (void)!read(wake_fd_, &count, sizeof(count));
    }
    for (size_t i = 0; i < pipe_count; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      auto [rank, stream] = owners[i];
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        states[rank].append(stream, std::string_view(buffer, static_cast<size_t>(n)), &batch);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        states[rank].finish(stream, &batch);
        ranks_[rank].close_fd(fds[i].fd);
      }
    }

    bool all_exited = true;
    for (int r = 0; r < world; ++r) {
      if (ranks_[r].try_wait() && pidfds[r] >= 0) {
        close(pidfds[r]);
        pidfds[r] = -1;
      }
      if (!ranks_[r].exit_info()) all_exited = false;
    }
    const auto now = Clock::now();
    if (stop_reason.empty()) {
      if (cancel_requested_.load()) {
        begin_stop("cancelled");
      } else if (deadline && now >= *deadline) {
        begin_stop("timeout");
      } else if (world > 1) {
        for (int r = 0; r < world && stop_reason.empty(); ++r) {
          if (rank_failed(ranks_[r], states[r]) && !all_exited) {
            failed_rank = r;
            begin_stop("rank_failed");
          }
        }
      }
    }
    if (kill_at && now >= *kill_at) {
      kill_everything();
      kill_at.reset();
    }

    if (sink_ != nullptr) {
      if (!batch.logs.empty()) sink_->on_logs(std::move(batch.logs));
      if (!batch.metrics.empty()) sink_->on_metrics(std::move(batch.metrics));
      if (batch.progress) sink_->on_progress(batch.progress->first, batch.progress->second);
    }
    batch = SinkBatch{};

    if (all_exited) {
      if (!all_exited_at) all_exited_at = now;
      // As of now, after this round's reads closed the pipes that reached EOF.
      bool pipes_open = false;
      for (const auto& child : ranks_) {
        pipes_open |= child.stdout_fd() >= 0 || child.stderr_fd() >= 0 || child.events_fd() >= 0;
      }
      if (!pipes_open) break;
      if (now - *all_exited_at > kDrainAfterExit) {
        // Grandchildren keep the pipes open: stop them and finish.
        kill_everything();
        for (auto& child : ranks_) {
          child.close_fd(child.stdout_fd());
          child.close_fd(child.stderr_fd());
          child.close_fd(child.events_fd());
        }
        break;
      }
    }
  }

  for (int fd : pidfds) {
    if (fd >= 0) close(fd);
  }
  AttemptOutcome outcome;
  if (stop_reason == "timeout") {
    outcome = outcome_of_rank(0, ranks_[0], states[0]);
    outcome.status = "failed";
    outcome.reason = "timeout";
    char limit[64];
    std::snprintf(limit, sizeof(limit), "%g", launch_.timeout_s);
    outcome.message = std::string("the attempt ran past timeout_s = ") + limit +
                      " s and was stopped";
  } else if (stop_reason == "cancelled") {
    outcome = outcome_of_rank(0, ranks_[0], states[0]);
    outcome.status = "cancelled";
    outcome.reason = "cancelled";
    std::lock_guard<std::mutex> lock(mutex_);
    outcome.message = cancel_reason_;
  } else {
    int decisive = failed_rank;
    for (int r = 0; r < world && decisive < 0; ++r) {
      if (rank_failed(ranks_[r], states[r])) decisive = r;
    }
    if (decisive < 0) decisive = 0;
    outcome = outcome_of_rank(decisive, ranks_[decisive], states[decisive]);
    if (world > 1 && outcome.status != "succeeded") {
      outcome.message = "rank " + std::to_string(decisive) + " failed: " + outcome.message;
    }
    outcome.outputs = states[0].outputs();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    outcome_ = outcome;
    done_ = true;
  }
  done_cv_.notify_all();
  if (sink_ != nullptr) sink_->on_finished(outcome);
}

}  // namespace radflow
