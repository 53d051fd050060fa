// PrefetchLoader: order and coverage independent of threads, deterministic shuffles,
// error propagation and skipping, real concurrency, and shutdown mid-epoch.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "plugins/ml/data/prefetch_loader.h"

namespace radflow::ml::data {
namespace {

// A sample whose single value is its index, so order is visible in the output.
Result<Sample> index_sample(size_t index) {
  return Sample{{static_cast<float>(index)}, {1}};
}

// Every batch of a loader, as the dataset indices carried by the samples' values.
std::vector<std::vector<size_t>> drain(PrefetchLoader& loader) {
  std::vector<std::vector<size_t>> batches;
  while (!loader.done()) {
    auto batch = loader.next();
    EXPECT_TRUE(batch.ok()) << batch.status().to_string();
    if (!batch.ok()) break;
    std::vector<size_t> values;
    for (size_t i = 0; i < batch->samples.size(); ++i) {
      EXPECT_EQ(batch->samples[i].values[0], static_cast<float>(batch->indices[i]));
      values.push_back(static_cast<size_t>(batch->samples[i].values[0]));
    }
    batches.push_back(values);
  }
  return batches;
}

std::vector<size_t> flatten(const std::vector<std::vector<size_t>>& batches) {
  std::vector<size_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

// Runs `fn` on a thread and gives it `seconds`; a hang fails the binary instead of
// stalling the test run forever.
void within(int seconds, const std::function<void()>& fn) {
  auto task = std::make_shared<std::packaged_task<void()>>(fn);
  auto future = task->get_future();
  std::thread([task] { (*task)(); }).detach();
  if (future.wait_for(std::chrono::seconds(seconds)) != std::future_status::ready) {
    ADD_FAILURE() << "did not finish within " << seconds << " s";
    std::_Exit(1);
  }
  future.get();
}

TEST(PrefetchLoaderTest, SequentialBatchesInOrderLastOneSmaller) {
  PrefetchOptions options;
  options.batch_size = 4;
  options.threads = 3;
  PrefetchLoader loader(10, index_sample, options);
  EXPECT_EQ(loader.batch_count(), 3u);
  auto batches = drain(loader);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0], (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(batches[2], (std::vector<size_t>{8, 9}));
}

TEST(PrefetchLoaderTest, ShuffleIsAPermutationAndTheSameForEveryThreadCount) {
  PrefetchOptions options;
  options.batch_size = 5;
  options.order = SampleOrder::kShuffled;
  options.seed = 42;
  options.epoch = 3;
  std::vector<size_t> reference;
  for (size_t threads : {1, 2, 4, 7}) {
    options.threads = threads;
    PrefetchLoader loader(53, index_sample, options);
    const auto order = flatten(drain(loader));
    if (reference.empty()) reference = order;
    EXPECT_EQ(order, reference) << threads << " threads";
  }
  std::vector<size_t> sorted = reference;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) ASSERT_EQ(sorted[i], i);  // each exactly once
  std::vector<size_t> identity = sorted;
  EXPECT_NE(reference, identity);
  EXPECT_EQ(reference, PrefetchLoader::visiting_order(53, options));
}

TEST(PrefetchLoaderTest, ShuffleDependsOnSeedAndEpoch) {
  PrefetchOptions a;
  a.order = SampleOrder::kShuffled;
  a.seed = 1;
  PrefetchOptions b = a;
  b.epoch = 1;
  PrefetchOptions c = a;
  c.seed = 2;
  const auto base = PrefetchLoader::visiting_order(40, a);
  EXPECT_EQ(base, PrefetchLoader::visiting_order(40, a));
  EXPECT_NE(base, PrefetchLoader::visiting_order(40, b));
  EXPECT_NE(base, PrefetchLoader::visiting_order(40, c));
}

TEST(PrefetchLoaderTest, EverySampleProducedExactlyOnce) {
  std::vector<std::atomic<int>> calls(100);
  PrefetchOptions options;
  options.batch_size = 7;
  options.threads = 4;
  options.order = SampleOrder::kShuffled;
  PrefetchLoader loader(100, [&](size_t i) { ++calls[i]; return index_sample(i); }, options);
  EXPECT_EQ(flatten(drain(loader)).size(), 100u);
  for (size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i].load(), 1) << i;
}

TEST(PrefetchLoaderTest, EmptyDatasetIsDoneAtOnce) {
  PrefetchLoader loader(0, index_sample);
  EXPECT_TRUE(loader.done());
  EXPECT_EQ(loader.batch_count(), 0u);
}

Result<Sample> fails_at_13(size_t i) {
  if (i == 13) return Status::error("image_error", "/data/13.png: truncated", "/data/13.png");
  if (i == 17) throw std::runtime_error("decoder threw");
  return index_sample(i);
}

TEST(PrefetchLoaderTest, AnErrorSurfacesAtItsBatchNamingTheIndex) {
  PrefetchOptions options;
  options.batch_size = 4;
  options.threads = 2;
  PrefetchLoader loader(40, fails_at_13, options);
  for (int b = 0; b < 3; ++b) ASSERT_TRUE(loader.next().ok()) << b;  // 0..11 are fine
  auto failed = loader.next();  // 12..15
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), "image_error");
  EXPECT_EQ(failed.status().message(), "sample 13: /data/13.png: truncated");
  EXPECT_EQ(failed.status().err().path, "/data/13.png");
  EXPECT_TRUE(loader.done());
}

TEST(PrefetchLoaderTest, AThrowingProducerIsAnErrorNotACrash) {
  PrefetchOptions options;
  options.batch_size = 20;
  PrefetchLoader loader(20, [](size_t i) { return i == 17 ? fails_at_13(i) : index_sample(i); },
                        options);
  auto failed = loader.next();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "sample 17: decoder threw");
}

TEST(PrefetchLoaderTest, SkipLeavesBadSamplesOutAndCountsThem) {
  PrefetchOptions options;
  options.batch_size = 8;
  options.threads = 3;
  options.bad_samples = BadSamplePolicy::kSkip;
  PrefetchLoader loader(24, fails_at_13, options);
  std::vector<size_t> seen;
  std::vector<size_t> skipped;
  while (!loader.done()) {
    auto batch = loader.next();
    ASSERT_TRUE(batch.ok());
    seen.insert(seen.end(), batch->indices.begin(), batch->indices.end());
    for (const auto& s : batch->skipped) skipped.push_back(s.index);
  }
  EXPECT_EQ(seen.size(), 22u);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 13u), 0);
  EXPECT_EQ(skipped, (std::vector<size_t>{13, 17}));
  EXPECT_EQ(loader.skipped_count(), 2u);
}

TEST(PrefetchLoaderTest, TwoThreadsDecodeConcurrently) {
  std::mutex mutex;
  std::condition_variable changed;
  int active = 0, max_active = 0;
  // Each call waits until another call is in flight too: with one thread at a time
  // this would only end through the safety timeout, and max_active would stay 1.
  auto producer = [&](size_t i) {
    std::unique_lock<std::mutex> lock(mutex);
    max_active = std::max(max_active, ++active);
    changed.notify_all();
    changed.wait_for(lock, std::chrono::seconds(20), [&] { return max_active >= 2; });
    --active;
    return index_sample(i);
  };
  PrefetchOptions options;
  options.batch_size = 4;
  options.threads = 2;
  within(60, [&] {
    PrefetchLoader loader(8, producer, options);
    EXPECT_EQ(flatten(drain(loader)).size(), 8u);
  });
  EXPECT_GE(max_active, 2);
}

TEST(PrefetchLoaderTest, DestroyedMidEpochStopsPromptlyWithBoundedWork) {
  std::atomic<size_t> calls{0};
  PrefetchOptions options;
  options.batch_size = 4;
  options.threads = 4;
  options.prefetch_batches = 2;
  within(60, [&] {
    PrefetchLoader loader(100000, [&](size_t i) { ++calls; return index_sample(i); }, options);
    ASSERT_TRUE(loader.next().ok());
  });
  // After one batch the workers may decode at most prefetch_batches batches ahead.
  EXPECT_GE(calls.load(), 4u);
  EXPECT_LE(calls.load(), 4u + 2 * 4u);
}

TEST(PrefetchLoaderTest, DestroyedWhileTheProducerIsBlockedWaitsForItOnly) {
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::atomic<size_t> started{0};
  PrefetchOptions options;
  options.batch_size = 2;
  options.threads = 2;
  auto loader = std::make_unique<PrefetchLoader>(
      1000, [&](size_t i) { ++started; open.wait(); return index_sample(i); }, options);
  while (started.load() < 2) std::this_thread::yield();
  std::thread opener([&] { gate.set_value(); });
  within(60, [&] { loader.reset(); });
  opener.join();
  EXPECT_LE(started.load(), 2u + 2 * 2u);
}

}  // namespace
}  // namespace radflow::ml::data
