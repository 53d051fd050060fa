#include "ranking_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace knn {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

std::vector<size_t> by_score_descending(const std::vector<double>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return order;
}

}  // namespace

double auroc(const std::vector<double>& scores, const std::vector<int>& labels) {
  const std::vector<size_t> order = by_score_descending(scores);
  double positives = 0, negatives = 0, pairs_won = 0;
  // Walk down tie groups: each positive in a group beats every negative below it and
  // ties half with the negatives in its group.
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    double group_pos = 0, group_neg = 0;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) {
      (labels[order[j]] != 0 ? group_pos : group_neg) += 1;
      ++j;
    }
    pairs_won += group_neg * positives + 0.5 * group_neg * group_pos;
    positives += group_pos;
    negatives += group_neg;
    i = j;
  }
  if (positives == 0 || negatives == 0) return kNan;
  return pairs_won / (positives * negatives);
}

double average_precision(const std::vector<double>& scores, const std::vector<int>& labels) {
  const std::vector<size_t> order = by_score_descending(scores);
  const double positives = static_cast<double>(std::count_if(labels.begin(), labels.end(), [](int l) { return l != 0; }));
  if (positives == 0 || positives == static_cast<double>(labels.size())) return kNan;
  double true_pos = 0, previous_recall = 0, ap = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    for (; j < order.size() && scores[order[j]] == scores[order[i]]; ++j) true_pos += labels[order[j]] != 0;
    const double recall = true_pos / positives;
    ap += (recall - previous_recall) * true_pos / static_cast<double>(j);
    previous_recall = recall;
    i = j;
  }
  return ap;
}

Interval bootstrap_95(const RankingMetric& metric, const std::vector<double>& scores,
                      const std::vector<int>& labels, int resamples, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, scores.size() - 1);
  std::vector<double> values;
  std::vector<double> s(scores.size());
  std::vector<int> l(labels.size());
  for (int r = 0; r < resamples && !scores.empty(); ++r) {
    for (size_t i = 0; i < scores.size(); ++i) {
      const size_t k = pick(rng);
      s[i] = scores[k];
      l[i] = labels[k];
    }
    const double v = metric(s, l);
    if (!std::isnan(v)) values.push_back(v);
  }
  if (values.empty()) return {kNan, kNan};
  std::sort(values.begin(), values.end());
  auto quantile = [&](double q) {
    const double at = q * static_cast<double>(values.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(at)), hi = static_cast<size_t>(std::ceil(at));
    return values[lo] + (values[hi] - values[lo]) * (at - static_cast<double>(lo));
  };
  return {quantile(0.025), quantile(0.975)};
}

}  // namespace knn
