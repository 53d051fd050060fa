#include "plugins/ml/metrics/average_precision.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "plugins/ml/metrics/xoshiro256.h"

namespace radflow::ml::metrics {
namespace {

// sklearn's algorithm written out step by step (_binary_clf_curve +
// precision_recall_curve + average_precision_score):
//   order = argsort(-score); thresholds at the last index of each distinct score;
//   tps = cumsum(y)[idx]; fps = 1 + idx - tps; precision = tps / (tps + fps);
//   recall = tps / tps[-1]; AP = -sum(diff(recall_reversed) * precision_reversed[:-1])
// which, read forwards, is sum over thresholds of (recall_k - recall_{k-1}) * precision_k.
double sklearn_style_ap(const std::vector<double>& s, const std::vector<int>& y) {
  std::vector<size_t> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[a] > s[b]; });
  std::vector<double> tps, fps;
  double cum = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    cum += y[order[k]] != 0;
    const bool last_of_group = k + 1 == order.size() || s[order[k + 1]] != s[order[k]];
    if (last_of_group) {
      tps.push_back(cum);
      fps.push_back(static_cast<double>(k + 1) - cum);
    }
  }
  // Reverse into sklearn's output order and append (precision 1, recall 0).
  std::vector<double> precision, recall;
  for (size_t k = tps.size(); k-- > 0;) {
    precision.push_back(tps[k] / (tps[k] + fps[k]));
    recall.push_back(tps[k] / tps.back());
  }
  precision.push_back(1.0);
  recall.push_back(0.0);
  double ap = 0;
  for (size_t k = 0; k + 1 < recall.size(); ++k) ap -= (recall[k + 1] - recall[k]) * precision[k];
  return ap;
}

TEST(AveragePrecision, SklearnDocExample) {
  // sklearn docs: average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333...
  // Thresholds 0.8 (P=1, R=.5), 0.4 (P=.5, R=.5), 0.35 (P=2/3, R=1): .5*1 + .5*2/3.
  EXPECT_NEAR(average_precision({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 5.0 / 6.0, 1e-15);
}

TEST(AveragePrecision, AllScoresTied) {
  // One threshold: R = 1, P = 0.5, so AP = 0.5 (sklearn gives 0.5).
  EXPECT_DOUBLE_EQ(average_precision({0.5, 0.5, 0.5, 0.5}, {1, 0, 1, 0}), 0.5);
}

TEST(AveragePrecision, TieGroupEntersAsOneStep) {
  // y=[0,1,1,0,1], s=[.9,.8,.8,.3,.1]. Thresholds: .9 (P=0, R=0), .8 (P=2/3, R=2/3),
  // .3 (P=1/2, R=2/3), .1 (P=3/5, R=1). AP = (2/3)(2/3) + (1/3)(3/5) = 29/45.
  EXPECT_NEAR(average_precision({0.9, 0.8, 0.8, 0.3, 0.1}, {0, 1, 1, 0, 1}), 29.0 / 45.0, 1e-15);
}

TEST(AveragePrecision, MixedTieGroups) {
  // y=[1,0,1,1,0,0], s=[.7,.7,.4,.4,.4,.1]. Thresholds: .7 (P=1/2, R=1/3),
  // .4 (P=3/5, R=1), .1 (R unchanged). AP = (1/3)(1/2) + (2/3)(3/5) = 17/30.
  EXPECT_NEAR(average_precision({0.7, 0.7, 0.4, 0.4, 0.4, 0.1}, {1, 0, 1, 1, 0, 0}),
              17.0 / 30.0, 1e-15);
}

TEST(AveragePrecision, OrderOfTiedSamplesDoesNotMatter) {
  const double a = average_precision({0.5, 0.5, 0.2}, {1, 0, 1});
  const double b = average_precision({0.5, 0.5, 0.2}, {0, 1, 1});
  EXPECT_DOUBLE_EQ(a, b);
  // .5: P = 1/2, R = 1/2; .2: P = 2/3, R = 1  -> 1/4 + 1/3.
  EXPECT_NEAR(a, 7.0 / 12.0, 1e-15);
}

TEST(AveragePrecision, MatchesSklearnStyleReferenceOnRandomData) {
  Xoshiro256 rng(7);
  for (int trial = 0; trial < 30; ++trial) {
    std::vector<double> s;
    std::vector<int> y;
    for (int i = 0; i < 50; ++i) {
      s.push_back(static_cast<double>(rng.uniform_below(10)) / 10.0);
      y.push_back(rng.uniform_below(3) == 0 ? 1 : 0);
    }
    y[3] = 1;
    EXPECT_NEAR(average_precision(s, y), sklearn_style_ap(s, y), 1e-12) << "trial " << trial;
  }
}

TEST(AveragePrecision, PerfectRankingIsOne) {
  EXPECT_DOUBLE_EQ(average_precision({0.9, 0.8, 0.1, 0.05}, {1, 1, 0, 0}), 1.0);
}

TEST(AveragePrecision, NoPositivesIsNanWithWarning) {
  MetricWarning warning = MetricWarning::kNone;
  EXPECT_TRUE(std::isnan(average_precision({0.3, 0.2}, {0, 0}, &warning)));
  EXPECT_EQ(warning, MetricWarning::kNoPositives);
  EXPECT_TRUE(std::isnan(average_precision({}, {}, &warning)));
  EXPECT_EQ(warning, MetricWarning::kEmptyInput);
}

TEST(AveragePrecision, AllPositivesIsOne) {
  EXPECT_DOUBLE_EQ(average_precision({0.3, 0.2, 0.2}, {1, 1, 1}), 1.0);
}

}  // namespace
}  // namespace radflow::ml::metrics
