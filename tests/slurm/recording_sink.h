// RecordingSink: an AttemptSink that keeps everything it hears, for tests that ask
// afterwards (or wait for a log line). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "orchestrator/executor/attempt.h"

namespace radflow::test {

class RecordingSink : public AttemptSink {
 public:
  void on_logs(std::vector<AttemptLogLine> lines) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& line : lines) logs_.push_back(std::move(line));
    changed_.notify_all();
  }
  void on_metrics(std::vector<AttemptMetric> points) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& point : points) metrics_.push_back(std::move(point));
  }
  void on_progress(double, const std::string& message) override {
    std::lock_guard<std::mutex> lock(mutex_);
    progress_.push_back(message);
  }
  void on_finished(const AttemptOutcome&) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++finished_;
    changed_.notify_all();
  }

  // The values of metric `name`, in the order they arrived.
  std::vector<double> metric_values(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<double> values;
    for (const auto& point : metrics_) {
      if (point.name == name) values.push_back(point.value);
    }
    return values;
  }
  bool has_log(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    return contains_log(text);
  }
  bool wait_for_log(const std::string& text, std::chrono::seconds patience) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, patience, [&] { return contains_log(text) || finished_ > 0; }) &&
           contains_log(text);
  }
  std::vector<std::string> progress() {
    std::lock_guard<std::mutex> lock(mutex_);
    return progress_;
  }
  // on_finished() was called exactly once.
  bool finished() {
    std::lock_guard<std::mutex> lock(mutex_);
    return finished_ == 1;
  }

 private:
  bool contains_log(const std::string& text) const {
    for (const auto& line : logs_) {
      if (line.message.find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<AttemptLogLine> logs_;
  std::vector<AttemptMetric> metrics_;
  std::vector<std::string> progress_;
  int finished_ = 0;
};

}  // namespace radflow::test
