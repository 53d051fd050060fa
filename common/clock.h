// Clock: the seam between time-driven code (the scheduler's timers, retry backoff,
// timeouts) and the passing of time, so tests drive time by hand instead of
// sleeping (tests/orchestrator/fake_clock.h). SteadyClock is the real one.
//
// wait_until() is the one way a thread that follows a Clock blocks: on `cv`, with
// `lock` held on entry and on return, until `ready()` holds or the clock reaches
// `deadline` (nullopt: no deadline). Whoever makes `ready()` true notifies `cv`
// while or after changing the state under `lock`'s mutex, as with any condition
// variable. An implementation may release `lock` for a moment before it blocks, as
// the wait itself does; callers re-check their state after it returns.
//
// Thread-safe; a Clock outlives everything that follows it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>

namespace radflow {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;
  virtual time_point now() const = 0;
  virtual void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          std::optional<time_point> deadline,
                          const std::function<bool()>& ready) = 0;
};

// std::chrono::steady_clock.
class SteadyClock : public Clock {
 public:
  // The process-wide instance (stateless; never destroyed).
  static SteadyClock* instance();

  time_point now() const override { return std::chrono::steady_clock::now(); }
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  std::optional<time_point> deadline,
                  const std::function<bool()>& ready) override;
};

// Seconds as a Clock::duration (backoff and timeouts are configured in seconds),
// rounded to the nearest tick: truncating would make 0.999 s + 0.001 s fall one
// nanosecond short of 1 s.
inline Clock::duration seconds_to_duration(double seconds) {
  return std::chrono::round<Clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace radflow
