#include "tests/orchestrator/fake_clock.h"

namespace radflow::testing {

FakeClock::FakeClock()
    : now_(std::chrono::duration_cast<duration>(std::chrono::hours(1000)).count()) {}

bool FakeClock::due(const Waiter& waiter) const {
  return waiter.deadline && now() >= *waiter.deadline;
}

void FakeClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                           std::optional<time_point> deadline,
                           const std::function<bool()>& ready) {
  if (ready() || (deadline && now() >= *deadline)) return;
  // Registered without the caller's mutex held (lock order, see the header). A
  // change made meanwhile is seen: advance() and the caller's notifier both take
  // the caller's mutex before they notify, and the predicate is checked again
  // under it before blocking.
  lock.unlock();
  std::list<Waiter>::iterator self;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    self = waiters_.insert(waiters_.end(), Waiter{lock.mutex(), &cv, &ready, deadline});
  }
  changed_.notify_all();
  lock.lock();
  cv.wait(lock, [&] { return ready() || (deadline && now() >= *deadline); });
  lock.unlock();
  {
    std::lock_guard<std::mutex> guard(mutex_);
    waiters_.erase(self);
  }
  changed_.notify_all();
  lock.lock();
}

void FakeClock::advance(duration by) {
  std::lock_guard<std::mutex> guard(mutex_);
  now_.fetch_add(by.count());
  for (const Waiter& waiter : waiters_) {
    // Taking the waiter's mutex orders this wake after its last look at the time.
    { std::lock_guard<std::mutex> theirs(*waiter.mutex); }
    waiter.cv->notify_all();
  }
}

bool FakeClock::wait_for_idle(size_t threads, std::chrono::milliseconds safety) {
  std::unique_lock<std::mutex> guard(mutex_);
  return changed_.wait_for(guard, safety, [&] {
    if (waiters_.size() < threads) return false;
    for (const Waiter& waiter : waiters_) {
      std::lock_guard<std::mutex> theirs(*waiter.mutex);
      if ((*waiter.ready)() || due(waiter)) return false;  // about to wake
    }
    return true;
  });
}

}  // namespace radflow::testing
