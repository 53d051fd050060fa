#include "plugins/demographic-correlation/record_field.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace radflow::ml::demographic {
namespace {

// The row's value of an extra column, or nullptr when missing or null (unknown).
const nlohmann::json* extra_value(const eval::FeatureRow& row, const std::string& key) {
  if (!row.extra.is_object()) return nullptr;
  auto it = row.extra.find(key);
  if (it == row.extra.end() || it->is_null() || *it == "") return nullptr;
  return &*it;
}

// How a categorical value is named: strings as they are, booleans "true"/"false",
// numbers (two-valued numeric columns) as JSON writes them.
std::string class_name(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

bool is_plain_number(const nlohmann::json& value) {
  return value.is_number() && std::isfinite(value.get<double>());
}

// Classifies one extra column from its known values; fills `field` or returns the
// reason it is skipped.
std::string classify_extra(const std::vector<const nlohmann::json*>& values, int max_classes,
                           RecordField* field) {
  bool all_numbers = true, all_labels = true, all_integers = true;
  for (const auto* v : values) {
    all_numbers = all_numbers && is_plain_number(*v);
    all_labels = all_labels && (v->is_string() || v->is_boolean());
    all_integers = all_integers && v->is_number_integer();
  }
  if (!all_numbers && !all_labels) return "mixed or nested values (neither all numbers nor all labels)";
  std::set<std::string> distinct;
  for (const auto* v : values) distinct.insert(class_name(*v));
  if (distinct.size() < 2) return "constant (one distinct value)";
  const bool unique_per_row = distinct.size() == values.size() && values.size() > 2;
  if (all_numbers && distinct.size() > 2) {
    // Unique integers are identifiers; unique reals (BMI, weight) are measurements.
    if (unique_per_row && all_integers) return "unique per row (looks like an identifier)";
    field->kind = FieldKind::kNumeric;
    return "";
  }
  if (unique_per_row) return "unique per row (looks like an identifier)";
  if (static_cast<int>(distinct.size()) > max_classes) {
    return std::to_string(distinct.size()) + " classes, more than max_classes " +
           std::to_string(max_classes);
  }
  field->kind = FieldKind::kCategorical;
  field->classes.assign(distinct.begin(), distinct.end());
  return "";
}

}  // namespace

FieldDiscovery discover_fields(const std::vector<eval::FeatureRow>& rows, int max_classes) {
  FieldDiscovery out;
  std::set<std::string> sexes;
  bool any_age = false;
  std::map<std::string, std::vector<const nlohmann::json*>> extra;  // sorted by key
  for (const auto& row : rows) {
    if (!row.sex.empty()) sexes.insert(row.sex);
    any_age = any_age || row.age.has_value();
    if (!row.extra.is_object()) continue;
    for (const auto& [key, value] : row.extra.items()) {
      auto& values = extra[key];
      // An empty string is unknown, as an empty sex is.
      if (!value.is_null() && value != "") values.push_back(&value);
    }
  }
  // sex and age are named by the method (raddino-method.md §4.4): kept even when
  // degenerate, so that their NaN and warning show in the report.
  if (!sexes.empty()) {
    RecordField sex{"sex", FieldSource::kSex, "", FieldKind::kCategorical, {}};
    sex.classes.assign(sexes.begin(), sexes.end());
    out.fields.push_back(sex);
  }
  if (any_age) out.fields.push_back({"age", FieldSource::kAge, "", FieldKind::kNumeric, {}});
  for (const auto& [key, values] : extra) {
    const bool clashes = (key == "sex" && !sexes.empty()) || (key == "age" && any_age);
    RecordField field{clashes ? "extra." + key : key, FieldSource::kExtra, key,
                      FieldKind::kNumeric, {}};
    const std::string reason =
        values.empty() ? "no known value" : classify_extra(values, max_classes, &field);
    if (reason.empty()) {
      out.fields.push_back(std::move(field));
    } else {
      out.skipped.push_back({field.name, reason});
    }
  }
  return out;
}

std::vector<double> numeric_targets(const RecordField& field,
                                    const std::vector<eval::FeatureRow>& rows) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    if (field.source == FieldSource::kAge) {
      out.push_back(row.age ? *row.age : nan);
    } else {
      const auto* v = field.source == FieldSource::kExtra ? extra_value(row, field.extra_key) : nullptr;
      out.push_back(v != nullptr && is_plain_number(*v) ? v->get<double>() : nan);
    }
  }
  return out;
}

std::vector<int> class_targets(const RecordField& field, const std::vector<eval::FeatureRow>& rows) {
  std::vector<int> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    std::string name;
    if (field.source == FieldSource::kSex) {
      name = row.sex;
    } else if (field.source == FieldSource::kExtra) {
      if (const auto* v = extra_value(row, field.extra_key)) name = class_name(*v);
    }
    auto it = std::lower_bound(field.classes.begin(), field.classes.end(), name);
    out.push_back(!name.empty() && it != field.classes.end() && *it == name
                      ? static_cast<int>(it - field.classes.begin())
                      : -1);
  }
  return out;
}

}  // namespace radflow::ml::demographic
