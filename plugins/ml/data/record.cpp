#include "plugins/ml/data/record.h"

namespace radflow::ml::data {

const char* split_name(Split split) {
  switch (split) {
    case Split::kTrain: return "train";
    case Split::kVal: return "val";
    case Split::kTest: return "test";
    case Split::kUnassigned: break;
  }
  return "";
}

std::optional<Split> parse_split(std::string_view text) {
  if (text == "train") return Split::kTrain;
  if (text == "val") return Split::kVal;
  if (text == "test") return Split::kTest;
  return std::nullopt;
}

bool Record::operator==(const Record& other) const {
  return path == other.path && split == other.split && labels == other.labels &&
         masks == other.masks && age == other.age && sex == other.sex &&
         report == other.report && extra == other.extra;
}

}  // namespace radflow::ml::data
