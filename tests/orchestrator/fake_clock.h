// FakeClock: a Clock (common/clock.h) that moves only when a test calls advance(),
// which wakes every thread waiting in wait_until() so it sees the new time. Timers,
// retry backoff and timeouts are then driven by the test, without sleeping.
//
// wait_for_idle(n) is the test's barrier: it returns once `n` threads wait in
// wait_until() and none of them has anything to do (its ready() is false and its
// deadline not reached), i.e. the system has settled after the last change. It
// gives up after `safety` of real time (a test then fails instead of hanging).
//
// Thread-safe. Lock order: the clock's mutex before a waiter's mutex; a waiter
// drops its own mutex while it (un)registers, so the two orders never meet.
#pragma once

#include <atomic>
#include <chrono>
#include <list>

#include "common/clock.h"

namespace radflow::testing {

class FakeClock : public Clock {
 public:
  // Starts at an arbitrary, fixed time point (never the epoch of steady_clock).
  FakeClock();

  time_point now() const override { return time_point(duration(now_.load())); }
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  std::optional<time_point> deadline,
                  const std::function<bool()>& ready) override;

  void advance(duration by);
  void advance_s(double seconds) { advance(seconds_to_duration(seconds)); }
  // True once `threads` threads wait with nothing to do; false after `safety`.
  bool wait_for_idle(size_t threads,
                     std::chrono::milliseconds safety = std::chrono::seconds(30));

 private:
  struct Waiter {
    std::mutex* mutex;
    std::condition_variable* cv;
    const std::function<bool()>* ready;
    std::optional<time_point> deadline;
  };
  bool due(const Waiter& waiter) const;

  std::atomic<duration::rep> now_;
  std::mutex mutex_;                // guards waiters_
  std::condition_variable changed_;  // a waiter came or went
  std::list<Waiter> waiters_;
};

}  // namespace radflow::testing
