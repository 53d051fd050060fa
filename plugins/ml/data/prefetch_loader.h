// PrefetchLoader: yields the samples 0..N-1 of a dataset in batches, in a fixed
// order (sequential, or a deterministic shuffle of seed and epoch), while worker
// threads decode the next samples ahead. Torch-free: a Sample is a float buffer and
// its shape, so the same loader feeds LibTorch plugins and plain C++ tools.
//
// Memory is bounded: at most prefetch_batches * batch_size decoded samples (plus the
// batch being returned) exist at any time. The order depends only on the count, the
// seed and the epoch, never on the number of threads or on which producer call
// finishes first.
//
// A producer error surfaces from next() at the batch that contains the sample, as
// "sample <index>: <message>" with the producer's error code; with
// BadSamplePolicy::kSkip the sample is left out of its batch instead, listed in
// Batch::skipped and counted by skipped_count(). A producer that throws is treated as
// one that returned an error.
//
// Thread-safety: next(), done() and skipped_count() are called by one consumer thread.
// The producer is called concurrently from the worker threads and must be thread-safe.
// The destructor stops the workers and joins them; it waits for producer calls in
// flight (it cannot interrupt them) but starts no new ones, so destroying a loader
// mid-epoch is cheap and never hangs on a well-behaved producer.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace radflow::ml::data {

// One decoded sample: values in C order with the given shape.
struct Sample {
  std::vector<float> values;
  std::vector<int64_t> shape;
};

struct SkippedSample {
  size_t index = 0;     // dataset index
  std::string message;  // the producer's error, as a message
};

struct Batch {
  std::vector<size_t> indices;   // dataset index of each sample, in order
  std::vector<Sample> samples;   // same length as indices
  std::vector<SkippedSample> skipped;  // bad samples of this batch (kSkip only)
};

enum class SampleOrder { kSequential, kShuffled };
enum class BadSamplePolicy { kFail, kSkip };

struct PrefetchOptions {
  size_t batch_size = 1;
  size_t threads = 0;           // 0: std::thread::hardware_concurrency()
  size_t prefetch_batches = 2;  // batches decoded ahead of the consumer, at least 1
  SampleOrder order = SampleOrder::kSequential;
  uint64_t seed = 0;            // kShuffled: the permutation is a function of seed and epoch
  uint64_t epoch = 0;
  BadSamplePolicy bad_samples = BadSamplePolicy::kFail;
};

using SampleProducer = std::function<Result<Sample>(size_t index)>;

class PrefetchLoader {
 public:
  // Starts the workers at once. Preconditions (checked): producer set, batch_size >= 1.
  PrefetchLoader(size_t count, SampleProducer producer, const PrefetchOptions& options = {});
  ~PrefetchLoader();
  PrefetchLoader(const PrefetchLoader&) = delete;
  PrefetchLoader& operator=(const PrefetchLoader&) = delete;

  // The next batch (the last one may be smaller), blocking until it is decoded.
  // After an error the loader is done. Precondition (checked): !done().
  Result<Batch> next();
  // True once every batch has been returned, or after an error.
  bool done() const { return done_; }
  size_t batch_count() const;
  // Samples skipped so far under kSkip.
  size_t skipped_count() const { return skipped_; }

  // The visiting order of `count` samples under `options` (a permutation of 0..count-1).
  static std::vector<size_t> visiting_order(size_t count, const PrefetchOptions& options);

 private:
  void worker_loop();

  const size_t count_;
  const SampleProducer producer_;
  const PrefetchOptions options_;
  const std::vector<size_t> order_;

  std::mutex mutex_;
  std::condition_variable work_ready_;   // workers: a position became claimable, or stop
  std::condition_variable sample_ready_;  // consumer: a slot was filled
  // slots_[p]: the result for position p of order_, once decoded; reset when consumed.
  std::vector<std::optional<Result<Sample>>> slots_;  // guarded by mutex_
  size_t next_claim_ = 0;      // guarded by mutex_: next position a worker decodes
  size_t next_position_ = 0;   // guarded by mutex_: first position not yet returned
  bool stopping_ = false;      // guarded by mutex_

  bool done_ = false;
  size_t skipped_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace radflow::ml::data
