#include "common/status.h"

#include <gtest/gtest.h>

namespace radflow {
namespace {

Result<int> parse_positive(int value) {
  if (value <= 0) return Status::error("not_positive", "value must be > 0", "/value");
  return value;
}

Status doubled(int value, int* out) {
  RF_ASSIGN_OR_RETURN(int checked, parse_positive(value));
  *out = checked * 2;
  return Status();
}

TEST(Status, CarriesCodeMessageAndPath) {
  Status status = Status::error("bad", "it broke", "/steps/a");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), "bad");
  EXPECT_EQ(status.to_string(), "bad: it broke (at /steps/a)");
  EXPECT_TRUE(Status().ok());
}

TEST(Result, PropagatesThroughMacros) {
  int out = 0;
  EXPECT_TRUE(doubled(4, &out).ok());
  EXPECT_EQ(out, 8);
  Status failed = doubled(-1, &out);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.err().path, "/value");
}

TEST(ResultDeathTest, ValueOfFailedResultAborts) {
  Result<int> failed = parse_positive(0);
  EXPECT_DEATH((void)failed.value(), "value\\(\\) of a failed Result");
}

}  // namespace
}  // namespace radflow
