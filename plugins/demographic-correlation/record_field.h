// RecordField: one patient-record field that demographic-correlation probes frozen
// features for (sex, age, or a column of a row's `extra` object), and
// discover_fields(), which finds every usable field in a feature set's rows.
//
// Rules (README.md, "Fields"): `sex` is categorical, `age` numeric; an extra column
// whose known values are all numbers is numeric (two distinct values: categorical);
// all strings or booleans: categorical with 2..max_classes classes. A column is
// skipped, with the reason, when it is constant, unique per row (an identifier),
// has too many classes, or mixes types. Values missing or null are "unknown" for that
// row and leave the row out of that field's probe.
//
// Plain data and pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "plugins/ml/eval/feature_set.h"

namespace radflow::ml::demographic {

enum class FieldKind { kNumeric, kCategorical };
enum class FieldSource { kSex, kAge, kExtra };

struct RecordField {
  std::string name;        // as reported: "sex", "age", or the extra key
  FieldSource source = FieldSource::kExtra;
  std::string extra_key;   // for kExtra: the key in rows[i].extra
  FieldKind kind = FieldKind::kNumeric;
  // Categorical only: the class names, sorted. With two classes the second is the
  // positive one (sex: "M"), its probability the score.
  std::vector<std::string> classes;
};

struct SkippedField {
  std::string name;
  std::string reason;  // e.g. "unique per row (looks like an identifier)"
};

struct FieldDiscovery {
  std::vector<RecordField> fields;  // sex, age, then extra columns by key
  std::vector<SkippedField> skipped;
};

FieldDiscovery discover_fields(const std::vector<eval::FeatureRow>& rows, int max_classes);

// The field's value in each row: the number (numeric fields) or NaN when unknown.
std::vector<double> numeric_targets(const RecordField& field,
                                    const std::vector<eval::FeatureRow>& rows);
// The index into field.classes of each row's class (categorical fields), -1 when
// unknown.
std::vector<int> class_targets(const RecordField& field, const std::vector<eval::FeatureRow>& rows);

}  // namespace radflow::ml::demographic
