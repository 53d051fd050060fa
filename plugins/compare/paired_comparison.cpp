#include "plugins/compare/paired_comparison.h"

#include <map>

namespace radflow::compare {
namespace metrics = ml::metrics;

namespace {

// other's metric over a sample given as indices into the reference's items.
metrics::IndexedMetricFn aligned(const EvaluatedItems& other, const std::vector<size_t>& to_other,
                                 size_t metric) {
  return [&other, &to_other, metric](const std::vector<size_t>& sample) {
    std::vector<size_t> mapped(sample.size());
    for (size_t i = 0; i < sample.size(); ++i) mapped[i] = to_other[sample[i]];
    return other.evaluate(metric, mapped);
  };
}

}  // namespace

Result<std::vector<size_t>> align_items(const EvaluatedItems& a, const EvaluatedItems& b,
                                        const std::string& a_label, const std::string& b_label) {
  if (b.paths.size() != a.paths.size()) {
    return Status::error("compare_input",
                         "inputs '" + a_label + "' and '" + b_label + "' cover different test items (" +
                             std::to_string(a.paths.size()) + " and " + std::to_string(b.paths.size()) +
                             " items): a paired comparison needs the same items");
  }
  std::map<std::string, size_t> a_index;
  for (size_t i = 0; i < a.paths.size(); ++i) a_index[a.paths[i]] = i;
  std::vector<size_t> to_b(a.paths.size());
  for (size_t j = 0; j < b.paths.size(); ++j) {
    auto it = a_index.find(b.paths[j]);
    if (it == a_index.end()) {
      return Status::error("compare_input", "item " + b.paths[j] + " of input '" + b_label +
                                                "' is not among input '" + a_label +
                                                "''s test items: a paired comparison needs the same items");
    }
    to_b[it->second] = j;
  }
  return to_b;
}

Result<std::vector<MetricComparison>> compare_paired(const EvaluatedItems& a, const EvaluatedItems& b,
                                                     const std::string& a_label,
                                                     const std::string& b_label,
                                                     const PairedOptions& options) {
  RF_ASSIGN_OR_RETURN(const std::vector<size_t> to_b, align_items(a, b, a_label, b_label));
  // b's metrics by name: per-finding metrics follow each file's finding order.
  std::map<std::string, size_t> b_metric;
  for (size_t m = 0; m < b.metrics.size(); ++m) b_metric[b.metrics[m].name] = m;
  if (b_metric.size() != a.metrics.size()) {
    return Status::error("compare_input", "inputs '" + a_label + "' and '" + b_label + "' have different metrics (" +
                                              std::to_string(a.metrics.size()) + " and " +
                                              std::to_string(b.metrics.size()) +
                                              "): a paired comparison needs the same findings or structures");
  }
  std::vector<size_t> identity(a.paths.size());
  for (size_t i = 0; i < identity.size(); ++i) identity[i] = i;
  std::vector<MetricComparison> out;
  for (size_t m = 0; m < a.metrics.size(); ++m) {
    auto in_b = b_metric.find(a.metrics[m].name);
    if (in_b == b_metric.end()) {
      return Status::error("compare_input", "input '" + b_label + "' has no metric " + a.metrics[m].name +
                                                " that input '" + a_label +
                                                "' has: a paired comparison needs the same findings or structures");
    }
    MetricComparison c;
    c.metric = a.metrics[m];
    c.paired = metrics::paired_bootstrap_ci(aligned(a, identity, m), aligned(b, to_b, in_b->second), a.paths.size(),
                                            options.resamples, options.alpha, options.seed);
    c.verdict = metrics::verdict_of(c.paired.difference, c.metric.direction);
    out.push_back(c);
  }
  return out;
}

std::vector<metrics::BootstrapInterval> intervals_of(const EvaluatedItems& items, const PairedOptions& options) {
  std::vector<metrics::BootstrapInterval> out;
  for (size_t m = 0; m < items.metrics.size(); ++m) {
    out.push_back(metrics::indexed_bootstrap_ci(
        [&items, m](const std::vector<size_t>& sample) { return items.evaluate(m, sample); }, items.paths.size(),
        options.resamples, options.alpha, options.seed));
  }
  return out;
}

}  // namespace radflow::compare
