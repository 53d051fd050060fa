// common/metrics.h: the text a registry renders, family by family, as Prometheus
// reads it (HELP, TYPE, labels escaped, cumulative buckets ending in +Inf).
#include "common/metrics.h"

#include <gtest/gtest.h>

namespace radflow::metrics {
namespace {

TEST(Metrics, RendersCountersGaugesAndHistograms) {
  Registry r;
  r.declare("t_requests_total", Type::kCounter, "Requests.");
  r.declare("t_open", Type::kGauge, "Open things.");
  r.declare("t_idle", Type::kGauge, "Never set.");
  r.declare("t_seconds", Type::kHistogram, "Durations.", {0.1, 1});
  r.add("t_requests_total", {{"route", "/a"}, {"status", "200"}});
  r.add("t_requests_total", {{"route", "/a"}, {"status", "200"}}, 2);
  r.set("t_open", {}, 2.5);
  r.observe("t_seconds", {{"plugin", "p"}}, 0.05);
  r.observe("t_seconds", {{"plugin", "p"}}, 0.5);
  r.observe("t_seconds", {{"plugin", "p"}}, 7);
  EXPECT_EQ(r.render(),
            "# HELP t_idle Never set.\n"
            "# TYPE t_idle gauge\n"
            "t_idle 0\n"
            "# HELP t_open Open things.\n"
            "# TYPE t_open gauge\n"
            "t_open 2.5\n"
            "# HELP t_requests_total Requests.\n"
            "# TYPE t_requests_total counter\n"
            "t_requests_total{route=\"/a\",status=\"200\"} 3\n"
            "# HELP t_seconds Durations.\n"
            "# TYPE t_seconds histogram\n"
            "t_seconds_bucket{plugin=\"p\",le=\"0.1\"} 1\n"
            "t_seconds_bucket{plugin=\"p\",le=\"1\"} 2\n"
            "t_seconds_bucket{plugin=\"p\",le=\"+Inf\"} 3\n"
            "t_seconds_sum{plugin=\"p\"} 7.55\n"
            "t_seconds_count{plugin=\"p\"} 3\n");
  EXPECT_EQ(r.value("t_requests_total", {{"route", "/a"}, {"status", "200"}}), 3);
  EXPECT_EQ(r.value("t_requests_total", {{"route", "/b"}}), 0);
}

TEST(Metrics, ClearDropsAGaugesSeriesAndLabelValuesAreEscaped) {
  Registry r;
  r.declare("t_waiting", Type::kGauge, "Waiting.");
  r.set("t_waiting", {{"reason", "a\"b\\c\nd"}}, 1);
  EXPECT_NE(r.render().find("t_waiting{reason=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos)
      << r.render();
  r.clear("t_waiting");
  EXPECT_NE(r.render().find("t_waiting 0\n"), std::string::npos) << r.render();
}

TEST(MetricsDeathTest, UndeclaredOrMistypedFamilyIsAProgrammerError) {
  Registry r;
  r.declare("t_seconds", Type::kHistogram, "Durations.", {1});
  EXPECT_DEATH(r.add("t_missing_total", {}), "used before it was declared");
  EXPECT_DEATH(r.add("t_seconds", {}), "used as a counter");
  EXPECT_DEATH(r.declare("t_seconds", Type::kGauge, "again"), "different types");
}

}  // namespace
}  // namespace radflow::metrics
