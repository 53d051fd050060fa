// Record: one image of a dataset manifest — its path, split, multi-label findings,
// segmentation mask paths, demographics and report text. A plain value type; copy
// and move freely, not shared between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace radflow::ml::data {

enum class Split { kUnassigned, kTrain, kVal, kTest };

// "train", "val", "test"; "" for kUnassigned.
const char* split_name(Split split);
// Inverse of split_name for the three real splits; nullopt for anything else.
std::optional<Split> parse_split(std::string_view text);

struct Record {
  // As written in the manifest: relative to the manifest's folder, or absolute.
  std::string path;
  Split split = Split::kUnassigned;
  // finding -> 0 or 1. A finding absent from the map is unknown for this image.
  std::map<std::string, int> labels;
  // structure (e.g. "lungs", "heart", "nodule") -> mask path, same rules as `path`.
  std::map<std::string, std::string> masks;
  std::optional<double> age;  // years
  std::string sex;            // "F", "M" or "" (unknown)
  std::string report;
  // Columns the manifest format does not interpret, kept for the round trip.
  std::map<std::string, std::string> extra;

  bool operator==(const Record& other) const;
};

}  // namespace radflow::ml::data
