#include "plugins/ml/data/prefetch_loader.h"

#include <algorithm>
#include <exception>
#include <numeric>
#include <utility>

#include "common/check.h"

namespace radflow::ml::data {
namespace {

// splitmix64: a tiny, well-mixed generator, so the shuffle is the same on every
// platform and standard library (std::shuffle's algorithm is unspecified).
uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in [0, bound) without modulo bias (Lemire's rejection on the high word).
uint64_t below(uint64_t bound, uint64_t* state) {
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const uint64_t r = splitmix64(state);
    if (r >= threshold) return r % bound;
  }
}

Result<Sample> call_producer(const SampleProducer& producer, size_t index) {
  // A throwing producer must not take the worker thread (and the process) down.
  try {
    return producer(index);
  } catch (const std::exception& e) {
    return Status::error("sample_error", e.what());
  } catch (...) {
    return Status::error("sample_error", "unknown exception");
  }
}

}  // namespace

std::vector<size_t> PrefetchLoader::visiting_order(size_t count, const PrefetchOptions& options) {
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), size_t{0});
  if (options.order == SampleOrder::kShuffled && count > 1) {
    uint64_t state = options.seed * 0x2545f4914f6cdd1dULL ^ (options.epoch + 0x632be59bd9b4e019ULL);
    for (size_t i = count - 1; i > 0; --i) {
      std::swap(order[i], order[below(i + 1, &state)]);
    }
  }
  return order;
}

PrefetchLoader::PrefetchLoader(size_t count, SampleProducer producer, const PrefetchOptions& options)
    : count_(count),
      producer_(std::move(producer)),
      options_(options),
      order_(visiting_order(count, options)),
      slots_(count) {
  RF_CHECK(static_cast<bool>(producer_), "PrefetchLoader needs a producer");
  RF_CHECK(options_.batch_size >= 1, "PrefetchLoader batch_size must be >= 1");
  done_ = count_ == 0;
  size_t threads = options_.threads != 0 ? options_.threads : std::thread::hardware_concurrency();
  threads = std::max<size_t>(1, std::min(threads, count_));
  if (count_ == 0) return;
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

PrefetchLoader::~PrefetchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

size_t PrefetchLoader::batch_count() const {
  return (count_ + options_.batch_size - 1) / options_.batch_size;
}

void PrefetchLoader::worker_loop() {
  const size_t window = std::max<size_t>(1, options_.prefetch_batches) * options_.batch_size;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_ready_.wait(lock, [&] {
      return stopping_ || next_claim_ >= count_ || next_claim_ < next_position_ + window;
    });
    if (stopping_ || next_claim_ >= count_) return;
    const size_t position = next_claim_++;
    lock.unlock();
    Result<Sample> sample = call_producer(producer_, order_[position]);
    lock.lock();
    slots_[position].emplace(std::move(sample));
    sample_ready_.notify_all();
  }
}

Result<Batch> PrefetchLoader::next() {
  RF_CHECK(!done_, "PrefetchLoader::next() after the last batch or an error");
  const size_t begin = next_position_;
  const size_t end = std::min(count_, begin + options_.batch_size);
  std::vector<Result<Sample>> results;
  results.reserve(end - begin);
  {
    std::unique_lock<std::mutex> lock(mutex_);
    for (size_t p = begin; p < end; ++p) {
      sample_ready_.wait(lock, [&] { return slots_[p].has_value(); });
      results.push_back(std::move(*slots_[p]));
      slots_[p].reset();
    }
    next_position_ = end;
  }
  work_ready_.notify_all();
  done_ = end >= count_;

  Batch batch;
  for (size_t i = 0; i < results.size(); ++i) {
    const size_t index = order_[begin + i];
    if (results[i].ok()) {
      batch.indices.push_back(index);
      batch.samples.push_back(std::move(results[i].value()));
      continue;
    }
    const Status& status = results[i].status();
    if (options_.bad_samples == BadSamplePolicy::kSkip) {
      batch.skipped.push_back({index, status.message()});
      ++skipped_;
      continue;
    }
    done_ = true;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;  // nothing after a failed batch is wanted
    }
    work_ready_.notify_all();
    return Status::error(status.code(), "sample " + std::to_string(index) + ": " + status.message(),
                         status.err().path);
  }
  return batch;
}

}  // namespace radflow::ml::data
