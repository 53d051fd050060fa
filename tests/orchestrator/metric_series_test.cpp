#include <gtest/gtest.h>

#include <cmath>

#include "orchestrator/api/json_views.h"

namespace radflow {
namespace {

std::vector<storage::MetricPoint> series(const std::string& name, int n) {
  std::vector<storage::MetricPoint> points;
  for (int i = 0; i < n; ++i) points.push_back({1, 1, name, i, 100.0 - i});
  return points;
}

TEST(MetricSeries, DownsamplesKeepingFirstAndLast) {
  auto json = metric_series_json(series("loss", 1000), 10);
  const auto& loss = json["series"]["loss"];
  ASSERT_EQ(loss.size(), 10u);
  EXPECT_EQ(loss[0][0], 0);
  EXPECT_EQ(loss[9][0], 999);
  for (size_t i = 1; i < loss.size(); ++i) EXPECT_GT(loss[i][0], loss[i - 1][0]);
}

TEST(MetricSeries, ShortSeriesAndZeroLimitAreWhole) {
  EXPECT_EQ(metric_series_json(series("lr", 7), 10)["series"]["lr"].size(), 7u);
  EXPECT_EQ(metric_series_json(series("lr", 70), 0)["series"]["lr"].size(), 70u);
}

TEST(MetricSeries, NonFiniteValuesBecomeNull) {
  std::vector<storage::MetricPoint> points = {{1, 1, "loss", 0, std::nan("")},
                                              {1, 1, "loss", 1, 2.0}};
  auto json = metric_series_json(points, 0);
  EXPECT_TRUE(json["series"]["loss"][0][1].is_null());
  EXPECT_EQ(json["series"]["loss"][1][1], 2.0);
}

}  // namespace
}  // namespace radflow
