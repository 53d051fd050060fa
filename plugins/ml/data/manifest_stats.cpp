#include "plugins/ml/data/manifest_stats.h"

#include <cmath>

namespace radflow::ml::data {

ManifestStats compute_stats(const Manifest& manifest) {
  ManifestStats stats;
  double age_sum = 0.0;
  for (const Record& r : manifest.records) {
    ++stats.images;
    const std::string split = r.split == Split::kUnassigned ? "unassigned" : split_name(r.split);
    ++stats.per_split[split];
    for (const auto& [finding, label] : r.labels) {
      for (const std::string& bucket : {std::string("all"), split}) {
        LabelCounts& counts = stats.labels[finding][bucket];
        ++counts.labelled;
        counts.positives += label == 1 ? 1 : 0;
      }
    }
    for (const auto& [name, path] : r.masks) ++stats.masks[name];
    if (r.age) {
      ++stats.age_count;
      age_sum += *r.age;
    }
    ++stats.sex[r.sex.empty() ? "unknown" : r.sex];
  }
  if (stats.age_count > 0) {
    stats.age_mean = age_sum / static_cast<double>(stats.age_count);
    // Second pass around the mean: a one-pass sum of squares loses precision.
    double squares = 0.0;
    for (const Record& r : manifest.records) {
      if (r.age) squares += (*r.age - stats.age_mean) * (*r.age - stats.age_mean);
    }
    stats.age_std = std::sqrt(squares / static_cast<double>(stats.age_count));
  }
  return stats;
}

nlohmann::json to_json(const ManifestStats& stats) {
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [finding, per_split] : stats.labels) {
    for (const auto& [split, counts] : per_split) {
      labels[finding][split] = {
          {"labelled", counts.labelled},
          {"positives", counts.positives},
          {"prevalence", counts.labelled > 0 ? static_cast<double>(counts.positives) / counts.labelled : 0.0}};
    }
  }
  return {{"images", stats.images},
          {"per_split", stats.per_split},
          {"labels", labels},
          {"masks", stats.masks},
          {"age", {{"count", stats.age_count}, {"mean", stats.age_mean}, {"std", stats.age_std}}},
          {"sex", stats.sex}};
}

}  // namespace radflow::ml::data
