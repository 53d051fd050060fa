#include "orchestrator/executor/attempt.h"

#include "orchestrator/executor/attempt_recovery.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>

namespace radflow {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr size_t kStderrTailLines = 20;
constexpr size_t kMaxLineBytes = 64 * 1024;  // longer lines are split
// After every rank has exited, how long pipes held open by grandchildren may keep
// the attempt from finishing.
constexpr auto kDrainAfterExit = std::chrono::milliseconds(1500);

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double number_or_nan(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text == "inf") return std::numeric_limits<double>::infinity();
    if (text == "-inf") return -std::numeric_limits<double>::infinity();
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// What one rank said and how it ended, gathered by the monitor.
struct RankState {
  std::string pending[3];  // partial lines of stdout, stderr, events
  std::deque<std::string> stderr_tail;
  std::optional<nlohmann::json> end_event;
  std::map<std::string, std::string> outputs;
};

bool rank_failed(const ChildProcess& child, const RankState& state) {
  auto exit = child.exit_info();
  if (!exit) return false;
  if (exit->signal != 0 || exit->exit_code != 0) return true;
  return !state.end_event || state.end_event->value("status", "") != "succeeded";
}

AttemptOutcome outcome_of_rank(int rank, const ChildProcess& child, const RankState& state) {
  AttemptOutcome out;
  const ExitInfo exit = child.exit_info().value_or(ExitInfo{});
  out.exit_code = exit.exit_code;
  out.signal = exit.signal;
  std::string tail;
  for (const auto& line : state.stderr_tail) tail += "\n  " + line;
  if (exit.signal != 0) {
    out.status = "failed";
    out.reason = exit.signal == SIGABRT ? "aborted" : exit.signal == SIGKILL ? "killed" : "crashed";
    out.message = "worker (rank " + std::to_string(rank) + ") was killed by " +
                  signal_name(exit.signal);
    if (exit.signal == SIGKILL) out.message += " (out of memory, or killed from outside)";
    if (!tail.empty()) out.message += "; last stderr lines:" + tail;
  } else if (state.end_event) {
    out.status = state.end_event->value("status", "failed");
    out.reason = state.end_event->value("reason", "worker_exited");
    out.message = state.end_event->value("message", "");
  } else {
    out.status = "failed";
    out.reason = "worker_exited";
    out.message = "worker (rank " + std::to_string(rank) + ") exited with code " +
                  std::to_string(exit.exit_code) + " without reporting a result";
    if (!tail.empty()) out.message += "; last stderr lines:" + tail;
  }
  out.outputs = state.outputs;
  return out;
}

}  // namespace

RunningAttempt::RunningAttempt(AttemptLaunch launch, AttemptSink* sink)
    : launch_(std::move(launch)), sink_(sink) {}

RunningAttempt::~RunningAttempt() {
  cancel("attempt abandoned");
  if (thread_.joinable()) thread_.join();
}

Result<std::unique_ptr<RunningAttempt>> RunningAttempt::start(AttemptLaunch launch,
                                                               AttemptSink* sink) {
  RF_CHECK(launch.ranks >= 1, "an attempt needs at least one rank");
  std::error_code ec;
  const fs::path dir(launch.attempt_dir);
  fs::create_directories(dir / "outputs", ec);
  if (ec) {
    return Status::error("io_error", "cannot create " + (dir / "outputs").string() + ": " +
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
    nlohmann::json spec = {
        {"plugin_path", l.plugin_path},
        {"plugin_dir", l.plugin_dir},
        {"plugin_name", l.plugin_name},
        {"params", l.params},
        {"inputs", l.inputs},
        {"output_dir", (dir / "outputs").string()},
        {"rank", rank},
        {"world_size", l.ranks},
        {"local_rank", rank},
        {"device", l.gpus.empty() ? std::string("cpu")
                                  : "cuda:" + std::to_string(rank % l.gpus.size())},
        {"events_fd", 3},
        {"result_path", result_path(dir, rank)},
    };
    const fs::path spec_path = dir / ("rank-" + std::to_string(rank) + ".json");
    {
      std::ofstream file(spec_path);
      file << spec.dump(2);
      if (!file) return Status::error("io_error", "cannot write " + spec_path.string());
    }
    ProcessSpec process;
    process.argv = {l.worker_path, "--attempt", spec_path.string()};
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
    auto child = ChildProcess::spawn(process);
    if (!child.ok()) {
      attempt->ranks_.clear();  // kills the ranks already started
      return child.status();
    }
    attempt->ranks_.push_back(std::move(child).value());
  }
  record_workers(dir, attempt->pids());
  attempt->thread_ = std::thread([raw = attempt.get()] { raw->monitor(); });
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
}

AttemptOutcome RunningAttempt::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [this] { return done_.load(); });
  return outcome_;
}

void RunningAttempt::monitor() {
  const int world = static_cast<int>(ranks_.size());
  std::vector<RankState> states(world);
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

  std::vector<AttemptLogLine> logs;
  std::vector<AttemptMetric> metrics;
  std::optional<std::pair<double, std::string>> progress;

  auto handle_line = [&](int rank, int stream, std::string line) {
    if (stream == 2) {
      nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
      if (event.is_discarded() || !event.is_object()) {
        logs.push_back({rank, now_ms(), "warning", "radflow", "unparseable worker event: " + line});
        return;
      }
      const std::string type = event.value("type", "");
      if (type == "log") {
        logs.push_back({rank, event.value("ts_ms", now_ms()), event.value("level", "info"),
                        "plugin", event.value("message", "")});
      } else if (type == "metric") {
        metrics.push_back({rank, event.value("name", ""), event.value("iteration", int64_t{0}),
                           number_or_nan(event.contains("value") ? event["value"] : nullptr)});
      } else if (type == "progress" && rank == 0) {
        progress = std::make_pair(event.value("fraction", 0.0), event.value("message", ""));
      } else if (type == "output") {
        states[rank].outputs[event.value("name", "")] = event.value("path", "");
      } else if (type == "end") {
        states[rank].end_event = std::move(event);
      }
      return;
    }
    if (stream == 1) {
      states[rank].stderr_tail.push_back(line);
      if (states[rank].stderr_tail.size() > kStderrTailLines) states[rank].stderr_tail.pop_front();
    }
    logs.push_back({rank, now_ms(), stream == 1 ? "warning" : "info",
                    stream == 1 ? "stderr" : "stdout", std::move(line)});
  };

  auto split_lines = [&](int rank, int stream, bool eof) {
    std::string& pending = states[rank].pending[stream];
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      handle_line(rank, stream, pending.substr(start, nl - start));
    }
    pending.erase(0, start);
    if (pending.size() > kMaxLineBytes || (eof && !pending.empty())) {
      handle_line(rank, stream, std::move(pending));
      pending.clear();
    }
  };

  auto signal_all = [&](int sig) {
    for (auto& child : ranks_) {
      if (!child.exit_info()) child.signal_group(sig);
    }
  };
  auto begin_stop = [&](std::string reason) {
    stop_reason = std::move(reason);
    signal_all(SIGTERM);
    kill_at = Clock::now() + grace;
  };

  char buffer[1 << 16];
  while (true) {
    std::vector<pollfd> fds;
    std::vector<std::pair<int, int>> owners;  // (rank, stream) per pollfd
    for (int r = 0; r < world; ++r) {
      const int stream_fds[3] = {ranks_[r].stdout_fd(), ranks_[r].stderr_fd(),
                                 ranks_[r].events_fd()};
      for (int s = 0; s < 3; ++s) {
        if (stream_fds[s] >= 0) {
          fds.push_back({stream_fds[s], POLLIN, 0});
          owners.emplace_back(r, s);
        }
      }
    }
    if (!fds.empty()) {
      poll(fds.data(), fds.size(), 50);
    } else {
      usleep(20 * 1000);
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      auto [rank, stream] = owners[i];
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        states[rank].pending[stream].append(buffer, static_cast<size_t>(n));
        split_lines(rank, stream, false);
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        split_lines(rank, stream, true);
        ranks_[rank].close_fd(fds[i].fd);
      }
    }

    bool all_exited = true;
    for (int r = 0; r < world; ++r) {
      ranks_[r].try_wait();
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
      signal_all(SIGKILL);
      kill_at.reset();
    }

    if (sink_ != nullptr) {
      if (!logs.empty()) sink_->on_logs(std::move(logs));
      if (!metrics.empty()) sink_->on_metrics(std::move(metrics));
      if (progress) sink_->on_progress(progress->first, progress->second);
    }
    logs.clear();
    metrics.clear();
    progress.reset();

    if (all_exited) {
      if (!all_exited_at) all_exited_at = now;
      bool pipes_open = !fds.empty();
      if (!pipes_open) break;
      if (now - *all_exited_at > kDrainAfterExit) {
        // Grandchildren keep the pipes open: stop them and finish.
        for (auto& child : ranks_) child.signal_group(SIGKILL);
        for (auto& child : ranks_) {
          child.close_fd(child.stdout_fd());
          child.close_fd(child.stderr_fd());
          child.close_fd(child.events_fd());
        }
        break;
      }
    }
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
    outcome.outputs = states[0].outputs;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    outcome_ = std::move(outcome);
    done_ = true;
  }
  done_cv_.notify_all();
  if (sink_ != nullptr) sink_->on_finished();
}

}  // namespace radflow
