#include "orchestrator/scheduler/resource_pool.h"

#include <gtest/gtest.h>

namespace radflow {
namespace {

Resources request(int gpus, double cpus, double memory_gb = 0) {
  Resources r;
  r.gpus = gpus;
  r.cpus = cpus;
  r.memory_gb = memory_gb;
  return r;
}

TEST(ResourcePool, GrantsWholeRequestsOrNothing) {
  ResourcePool pool(2, {0, 2, 5}, 0);
  auto a = pool.try_acquire(request(2, 1));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->gpus, (std::vector<int>{0, 2}));
  EXPECT_FALSE(pool.try_acquire(request(2, 1)));  // one GPU left
  EXPECT_EQ(pool.free_gpus(), 1u);
  EXPECT_DOUBLE_EQ(pool.free_cpus(), 1);
  auto b = pool.try_acquire(request(1, 1));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->gpus, (std::vector<int>{5}));
  EXPECT_FALSE(pool.try_acquire(request(0, 0.5)));  // no CPU left
  pool.release(*a);
  auto c = pool.try_acquire(request(1, 1));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->gpus, (std::vector<int>{0}));  // lowest free index first
}

TEST(ResourcePool, FractionalCpusAddUpWithoutDrift) {
  ResourcePool pool(1, {}, 0);
  std::vector<Allocation> held;
  for (int i = 0; i < 10; ++i) {
    auto a = pool.try_acquire(request(0, 0.1));
    ASSERT_TRUE(a) << i;
    held.push_back(*a);
  }
  EXPECT_FALSE(pool.try_acquire(request(0, 0.1)));
  for (const auto& a : held) pool.release(a);
  EXPECT_NEAR(pool.free_cpus(), 1, 1e-9);
}

TEST(ResourcePool, ShortfallSaysWhatIsMissing) {
  ResourcePool pool(4, {0}, 16);
  ASSERT_TRUE(pool.try_acquire(request(1, 1)));
  EXPECT_NE(pool.shortfall(request(1, 1)).find("GPU"), std::string::npos);
  EXPECT_NE(pool.shortfall(request(0, 8)).find("CPU"), std::string::npos);
  EXPECT_NE(pool.shortfall(request(0, 1, 32)).find("memory"), std::string::npos);
  EXPECT_EQ(pool.shortfall(request(0, 1, 8)), "");
}

}  // namespace
}  // namespace radflow
