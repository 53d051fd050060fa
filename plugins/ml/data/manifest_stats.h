// ManifestStats: counts that describe a manifest — images per split, labelled and
// positive images per finding and split, age mean/std, sex counts, patients per split. Computed by
// compute_stats() from a Manifest; a value type, thread-safe to compute.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "plugins/ml/data/manifest.h"

namespace radflow::ml::data {

struct LabelCounts {
  int64_t labelled = 0;   // images with a 0 or 1 for the finding
  int64_t positives = 0;  // images with a 1
};

struct ManifestStats {
  int64_t images = 0;
  std::map<std::string, int64_t> per_split;  // "train"/"val"/"test"/"unassigned" -> images
  // finding -> split name ("all" for every split) -> counts
  std::map<std::string, std::map<std::string, LabelCounts>> labels;
  std::map<std::string, int64_t> masks;  // structure -> images that have the mask
  int64_t age_count = 0;
  double age_mean = 0.0;  // over images with an age; 0 when none
  double age_std = 0.0;   // population standard deviation
  std::map<std::string, int64_t> sex;  // "F", "M", "unknown" -> images
  // By patient (split_assignment.h's patient_key; an image without one counts as its
  // own patient): distinct patients, per split, and how many sit in more than one
  // split (0 unless a given split column put them there).
  int64_t patients = 0;
  std::map<std::string, int64_t> patients_per_split;
  int64_t patients_in_several_splits = 0;
};

ManifestStats compute_stats(const Manifest& manifest);

// {"images", "per_split", "labels": {finding: {split: {"labelled", "positives",
// "prevalence"}}}, "masks", "age": {"count", "mean", "std"}, "sex",
// "split_report": {"patients", "patients_in_several_splits",
//                  split: {"patients", "images"}}}.
nlohmann::json to_json(const ManifestStats& stats);

}  // namespace radflow::ml::data
