// child_environment: which of the daemon's variables a worker gets.
#include <gtest/gtest.h>

#include <algorithm>

#include "orchestrator/executor/child_env.h"

namespace radflow {
namespace {

bool contains(const std::vector<std::string>& env, const std::string& entry) {
  return std::find(env.begin(), env.end(), entry) != env.end();
}

TEST(ChildEnv, PassesTheAllowlistOnly) {
  const char* parent[] = {"PATH=/usr/bin",        "HOME=/home/u",          "LANG=C.UTF-8",
                          "LC_ALL=C",              "CUDA_HOME=/cuda",       "NCCL_DEBUG=INFO",
                          "OMP_NUM_THREADS=2",     "RADFLOW_SERVER=x",      "TZ=UTC",
                          "AWS_SECRET_ACCESS_KEY=s", "GITHUB_TOKEN=t",      "LD_PRELOAD=/evil.so",
                          "PATHEXTRA=1",           "RADFLOW_=bare-prefix",  "no-equals-sign",
                          nullptr};
  const auto env = child_environment(parent, {}, {});
  for (const char* kept : {"PATH=/usr/bin", "HOME=/home/u", "LANG=C.UTF-8", "LC_ALL=C",
                           "CUDA_HOME=/cuda", "NCCL_DEBUG=INFO", "OMP_NUM_THREADS=2",
                           "RADFLOW_SERVER=x", "TZ=UTC"}) {
    EXPECT_TRUE(contains(env, kept)) << kept;
  }
  for (const char* dropped : {"AWS_SECRET_ACCESS_KEY=s", "GITHUB_TOKEN=t", "LD_PRELOAD=/evil.so",
                              "PATHEXTRA=1", "RADFLOW_=bare-prefix", "no-equals-sign"}) {
    EXPECT_FALSE(contains(env, dropped)) << dropped;
  }
  EXPECT_TRUE(std::is_sorted(env.begin(), env.end()));
}

TEST(ChildEnv, PassthroughAndEnvSetAddToIt) {
  const char* parent[] = {"PATH=/usr/bin", "HF_HOME=/models", "SECRET=s", nullptr};
  const auto env = child_environment(parent, {{"PATH", "/override"}, {"RANK", "0"}}, {"HF_HOME"});
  EXPECT_TRUE(contains(env, "PATH=/override"));
  EXPECT_TRUE(contains(env, "RANK=0"));
  EXPECT_TRUE(contains(env, "HF_HOME=/models"));
  EXPECT_FALSE(contains(env, "SECRET=s"));
  EXPECT_EQ(env.size(), 3u);
}

TEST(ChildEnv, NullParentIsEmpty) { EXPECT_TRUE(child_environment(nullptr, {}, {}).empty()); }

}  // namespace
}  // namespace radflow
