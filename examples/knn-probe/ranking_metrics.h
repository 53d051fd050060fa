// Ranking metrics of binary labels against scores, as scikit-learn computes them
// (roc_auc_score: ties count half; average_precision_score: one step per distinct
// score), and a seeded percentile bootstrap of either. NaN when a sample has a
// single class. Pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace knn {

double auroc(const std::vector<double>& scores, const std::vector<int>& labels);
double average_precision(const std::vector<double>& scores, const std::vector<int>& labels);

struct Interval {
  double low, high;
};
// 95% percentile interval of `metric` over `resamples` resamples with replacement
// (NaN resamples skipped; NaN bounds when all are).
using RankingMetric = std::function<double(const std::vector<double>&, const std::vector<int>&)>;
Interval bootstrap_95(const RankingMetric& metric, const std::vector<double>& scores,
                      const std::vector<int>& labels, int resamples, uint64_t seed);

}  // namespace knn
