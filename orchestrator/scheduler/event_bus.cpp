#include "orchestrator/scheduler/event_bus.h"

#include <algorithm>

namespace radflow {

std::optional<nlohmann::json> EventBus::Subscription::next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!cv_.wait_for(lock, timeout, [this] { return !queue_.empty(); })) return std::nullopt;
  nlohmann::json event = std::move(queue_.front());
  queue_.pop_front();
  return event;
}

std::shared_ptr<EventBus::Subscription> EventBus::subscribe() {
  auto subscription = std::make_shared<Subscription>();
  std::lock_guard<std::mutex> lock(mutex_);
  subscribers_.push_back(subscription);
  return subscription;
}

void EventBus::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  std::lock_guard<std::mutex> lock(mutex_);
  subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), subscription),
                     subscribers_.end());
}

void EventBus::publish(nlohmann::json event) {
  std::lock_guard<std::mutex> lock(mutex_);
  event["seq"] = ++sequence_;
  for (const auto& subscriber : subscribers_) {
    {
      std::lock_guard<std::mutex> sub_lock(subscriber->mutex_);
      if (subscriber->queue_.size() >= kMaxQueued) subscriber->queue_.pop_front();
      subscriber->queue_.push_back(event);
    }
    subscriber->cv_.notify_one();
  }
}

}  // namespace radflow
