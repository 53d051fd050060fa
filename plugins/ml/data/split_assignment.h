// assign_missing_splits: gives every Split::kUnassigned record of a manifest a split,
// by patient: all images of one patient land in one split, so that a patient never
// sits in train and test (several studies per patient, as MIMIC-CXR and CheXpert have,
// would otherwise inflate every evaluation, above all sex and age). The patient is
// patient_key(record); records without one are their own group.
//
// Target image counts per split are exact (rounded) proportions of the unassigned
// images, as before; patients are dealt in a seeded order (SplitMix64, the same on
// every standard library), largest first, each to the split that still has room for
// it and whose share of positives per finding lags most (stratified where possible).
// An explicit split wins: a patient with a given split on any image gets that split for
// its unassigned images (the first given one). Thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "plugins/ml/data/manifest.h"

namespace radflow::ml::data {

struct SplitRatios {
  double train = 0.7, val = 0.15, test = 0.15;
};

// The record's patient: its "patient_id" column, else "subject_id" (MIMIC-CXR), else "".
// The dataset plugin fills "patient_id" from the DICOM PatientID (the pseudonym when
// de-identifying) when the label table has neither column.
std::string patient_key(const Record& record);

// Error "invalid_split_ratios" when a ratio is negative or all are zero.
Status assign_missing_splits(Manifest& manifest, const SplitRatios& ratios, uint64_t seed);

}  // namespace radflow::ml::data
