#include "common/lifecycle.h"

#include <gtest/gtest.h>

namespace radflow {
namespace {

TEST(Lifecycle, NamesRoundTripAndUnknownNamesAreRefused) {
  for (auto s : {StepStatus::kQueued, StepStatus::kRunning, StepStatus::kSucceeded,
                 StepStatus::kFailed, StepStatus::kCancelled, StepStatus::kCached}) {
    EXPECT_EQ(step_status_from(to_string(s)), s);
  }
  for (auto s : {RunStatus::kQueued, RunStatus::kRunning, RunStatus::kSucceeded,
                 RunStatus::kFailed, RunStatus::kCancelled}) {
    EXPECT_EQ(run_status_from(to_string(s)), s);
  }
  EXPECT_EQ(attempt_status_from("lost"), AttemptStatus::kLost);
  EXPECT_FALSE(step_status_from("lost").has_value());
  EXPECT_FALSE(run_status_from("cached").has_value());
  EXPECT_FALSE(attempt_status_from("").has_value());
}

TEST(Lifecycle, StepTransitionsFollowTheTable) {
  EXPECT_TRUE(is_allowed(StepStatus::kQueued, StepStatus::kRunning));
  EXPECT_TRUE(is_allowed(StepStatus::kQueued, StepStatus::kCached));
  EXPECT_TRUE(is_allowed(StepStatus::kQueued, StepStatus::kFailed));  // input_missing
  EXPECT_FALSE(is_allowed(StepStatus::kQueued, StepStatus::kSucceeded));
  EXPECT_TRUE(is_allowed(StepStatus::kRunning, StepStatus::kQueued));  // retrying
  EXPECT_FALSE(is_allowed(StepStatus::kRunning, StepStatus::kCached));
  EXPECT_FALSE(is_allowed(StepStatus::kSucceeded, StepStatus::kFailed));
  EXPECT_FALSE(is_allowed(StepStatus::kCancelled, StepStatus::kRunning));
  EXPECT_TRUE(is_allowed(StepStatus::kFailed, StepStatus::kQueued));  // retry of the run
}

TEST(Lifecycle, RunAndAttemptTransitionsFollowTheTable) {
  EXPECT_TRUE(is_allowed(RunStatus::kQueued, RunStatus::kCancelled));
  EXPECT_FALSE(is_allowed(RunStatus::kRunning, RunStatus::kQueued));
  EXPECT_FALSE(is_allowed(RunStatus::kSucceeded, RunStatus::kFailed));
  EXPECT_TRUE(is_allowed(RunStatus::kFailed, RunStatus::kRunning));
  EXPECT_TRUE(is_allowed(AttemptStatus::kLost, AttemptStatus::kSucceeded));
  EXPECT_FALSE(is_allowed(AttemptStatus::kSucceeded, AttemptStatus::kFailed));
  EXPECT_FALSE(is_allowed(AttemptStatus::kFailed, AttemptStatus::kRunning));
  EXPECT_TRUE(is_terminal(StepStatus::kCached));
  EXPECT_FALSE(is_terminal(RunStatus::kRunning));
}

}  // namespace
}  // namespace radflow
