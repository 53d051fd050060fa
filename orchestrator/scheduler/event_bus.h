// EventBus: fan-out of status changes (runs, steps, attempts, progress) to live
// listeners — the API's server-sent-events stream and `logs -f`. Each subscriber has
// a bounded queue; a slow one loses its oldest events rather than slowing the
// scheduler (it can re-read state from the API).
//
// Thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace radflow {

class EventBus {
 public:
  class Subscription {
   public:
    // Waits up to `timeout` for the next event.
    std::optional<nlohmann::json> next(std::chrono::milliseconds timeout);

   private:
    friend class EventBus;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<nlohmann::json> queue_;
  };

  std::shared_ptr<Subscription> subscribe();
  void unsubscribe(const std::shared_ptr<Subscription>& subscription);
  // Stamps the event with a sequence number ("seq") and delivers it to everyone.
  void publish(nlohmann::json event);

 private:
  static constexpr size_t kMaxQueued = 10000;
  std::mutex mutex_;
  int64_t sequence_ = 0;
  std::vector<std::shared_ptr<Subscription>> subscribers_;
};

}  // namespace radflow
