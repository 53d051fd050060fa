#include "common/clock.h"

namespace radflow {

SteadyClock* SteadyClock::instance() {
  static SteadyClock* clock = new SteadyClock();
  return clock;
}

void SteadyClock::wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                             std::optional<time_point> deadline,
                             const std::function<bool()>& ready) {
  if (deadline) {
    cv.wait_until(lock, *deadline, ready);
  } else {
    cv.wait(lock, ready);
  }
}

}  // namespace radflow
