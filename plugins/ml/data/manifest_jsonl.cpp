// JSONL form of the manifest: one JSON object per line, the same fields as the CSV
// form but with labels, masks and extra as nested objects. Unknown top-level keys
// are refused (a typo such as "lables" must not silently drop every label).
#include <cmath>

#include <nlohmann/json.hpp>

#include "plugins/ml/data/manifest.h"

namespace radflow::ml::data {
namespace {

using nlohmann::json;

Status field_error(const std::string& file, int line, const std::string& field, const std::string& what) {
  const std::string where = file + ":" + std::to_string(line) + ":" + field;
  return Status::error("manifest_invalid", where + ": " + what, where);
}

Result<Record> parse_record(const json& object, const std::string& file, int line, const ReadOptions& options) {
  if (!object.is_object()) return field_error(file, line, "", "line is not a JSON object");
  Record record;
  for (const auto& [key, value] : object.items()) {
    if (key == "path") {
      if (!value.is_string() || value.get<std::string>().empty()) return field_error(file, line, key, "must be a non-empty string");
      record.path = value.get<std::string>();
    } else if (key == "split") {
      if (value.is_null() && options.split == SplitRule::kOptional) continue;
      std::optional<Split> split = value.is_string() ? parse_split(value.get<std::string>()) : std::nullopt;
      if (!split) return field_error(file, line, key, value.dump() + " is not \"train\", \"val\" or \"test\"");
      record.split = *split;
    } else if (key == "age") {
      if (value.is_null()) continue;
      if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0) {
        return field_error(file, line, key, value.dump() + " is not a non-negative number");
      }
      record.age = value.get<double>();
    } else if (key == "sex") {
      if (value.is_null()) continue;
      if (!value.is_string() || (value != "F" && value != "M" && value != "")) {
        return field_error(file, line, key, value.dump() + " is not \"F\", \"M\" or null");
      }
      record.sex = value.get<std::string>();
    } else if (key == "report") {
      if (!value.is_string() && !value.is_null()) return field_error(file, line, key, "must be a string");
      if (value.is_string()) record.report = value.get<std::string>();
    } else if (key == "labels") {
      if (!value.is_object()) return field_error(file, line, key, "must be an object {finding: 0|1}");
      for (const auto& [finding, label] : value.items()) {
        if (label.is_null()) continue;
        if (!label.is_number_integer() || (label != 0 && label != 1)) {
          return field_error(file, line, "labels." + finding, label.dump() + " is not 0, 1 or null");
        }
        record.labels[finding] = label.get<int>();
      }
    } else if (key == "masks" || key == "extra") {
      if (!value.is_object()) return field_error(file, line, key, "must be an object of strings");
      for (const auto& [name, entry] : value.items()) {
        if (!entry.is_string()) return field_error(file, line, key + "." + name, "must be a string");
        (key == "masks" ? record.masks : record.extra)[name] = entry.get<std::string>();
      }
    } else {
      return field_error(file, line, key, "unknown field (expected path, split, age, sex, report, labels, masks, extra)");
    }
  }
  if (record.path.empty()) return field_error(file, line, "path", "missing");
  if (record.split == Split::kUnassigned && options.split == SplitRule::kRequired) {
    return field_error(file, line, "split", "missing");
  }
  return record;
}

}  // namespace

Result<Manifest> parse_manifest_jsonl(std::string_view text, const std::string& file_name,
                                      const ReadOptions& options) {
  Manifest manifest;
  int line = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    ++line;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (raw.find_first_not_of(" \t") == std::string_view::npos) continue;
    json object = json::parse(raw, nullptr, /*allow_exceptions=*/false);
    if (object.is_discarded()) return field_error(file_name, line, "", "not valid JSON");
    RF_ASSIGN_OR_RETURN(Record record, parse_record(object, file_name, line, options));
    manifest.records.push_back(std::move(record));
  }
  return manifest;
}

std::string to_jsonl(const Manifest& manifest) {
  std::string out;
  for (const Record& r : manifest.records) {
    json object = {{"path", r.path}};
    if (r.split != Split::kUnassigned) object["split"] = split_name(r.split);
    object["age"] = r.age ? json(*r.age) : json(nullptr);
    object["sex"] = r.sex.empty() ? json(nullptr) : json(r.sex);
    object["report"] = r.report;
    object["labels"] = r.labels;
    object["masks"] = r.masks;
    if (!r.extra.empty()) object["extra"] = r.extra;
    out += object.dump(-1, ' ', false, json::error_handler_t::replace);
    out += '\n';
  }
  return out;
}

}  // namespace radflow::ml::data
