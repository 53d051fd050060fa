#include "plugins/ml/data/manifest_stats.h"

#include <cmath>
#include <set>

#include "plugins/ml/data/split_assignment.h"

namespace radflow::ml::data {

ManifestStats compute_stats(const Manifest& manifest) {
  ManifestStats stats;
  double age_sum = 0.0;
  std::map<std::string, std::set<std::string>> splits_of_patient;
  for (const Record& r : manifest.records) {
    ++stats.images;
    const std::string split = r.split == Split::kUnassigned ? "unassigned" : split_name(r.split);
    const std::string patient = patient_key(r);
    // "\x01" + index: an image without a patient is a patient of its own.
    splits_of_patient[patient.empty() ? "\x01" + std::to_string(stats.images) : patient].insert(split);
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
  stats.patients = static_cast<int64_t>(splits_of_patient.size());
  for (const auto& [patient, splits] : splits_of_patient) {
    for (const std::string& split : splits) ++stats.patients_per_split[split];
    stats.patients_in_several_splits += splits.size() > 1;
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
  nlohmann::json report = {{"patients", stats.patients},
                            {"patients_in_several_splits", stats.patients_in_several_splits}};
  for (const auto& [split, images] : stats.per_split) {
    const auto it = stats.patients_per_split.find(split);
    report[split] = {{"patients", it == stats.patients_per_split.end() ? 0 : it->second}, {"images", images}};
  }
  return {{"images", stats.images},
          {"per_split", stats.per_split},
          {"labels", labels},
          {"masks", stats.masks},
          {"age", {{"count", stats.age_count}, {"mean", stats.age_mean}, {"std", stats.age_std}}},
          {"sex", stats.sex},
          {"split_report", report}};
}

}  // namespace radflow::ml::data
