// CSV form of the manifest. Columns are recognised by name, in any order; unknown
// columns land in Record::extra so a table from elsewhere survives a round trip.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "plugins/ml/data/csv_table.h"
#include "plugins/ml/data/manifest.h"

namespace radflow::ml::data {
namespace {

const char kLabelPrefix[] = "label:";
const char kMaskPrefix[] = "mask:";

bool starts_with(const std::string& text, const char* prefix) {
  return text.rfind(prefix, 0) == 0;
}

Status cell_error(const std::string& file, int line, size_t column, const std::string& name,
                  const std::string& what) {
  const std::string where = file + ":" + std::to_string(line) + ":" + std::to_string(column + 1);
  return Status::error("manifest_invalid", where + " (column '" + name + "'): " + what, where);
}

std::string format_age(double age) {
  char text[32];
  std::snprintf(text, sizeof text, "%.10g", age);
  return text;
}

}  // namespace

Result<Manifest> parse_manifest_csv(std::string_view text, const std::string& file_name,
                                    const ReadOptions& options) {
  RF_ASSIGN_OR_RETURN(std::vector<CsvRow> rows, parse_csv(text, file_name));
  if (rows.empty()) {
    return Status::error("manifest_invalid", file_name + ":1:1: no header row", file_name + ":1:1");
  }
  const std::vector<std::string>& header = rows[0].fields;
  int path_column = -1, split_column = -1;
  std::map<std::string, size_t> seen;
  for (size_t c = 0; c < header.size(); ++c) {
    const std::string& name = header[c];
    if (name.empty()) return cell_error(file_name, rows[0].line, c, name, "empty column name");
    if (!seen.emplace(name, c).second) {
      return cell_error(file_name, rows[0].line, c, name, "duplicate column name");
    }
    if ((starts_with(name, kLabelPrefix) && name.size() == sizeof kLabelPrefix - 1) ||
        (starts_with(name, kMaskPrefix) && name.size() == sizeof kMaskPrefix - 1)) {
      return cell_error(file_name, rows[0].line, c, name, "label:/mask: column without a name");
    }
    if (name == "path") path_column = static_cast<int>(c);
    if (name == "split") split_column = static_cast<int>(c);
  }
  if (path_column < 0) {
    return Status::error("manifest_invalid", file_name + ":" + std::to_string(rows[0].line) +
                         ": header has no 'path' column", file_name + ":" + std::to_string(rows[0].line));
  }
  if (split_column < 0 && options.split == SplitRule::kRequired) {
    return Status::error("manifest_invalid", file_name + ":" + std::to_string(rows[0].line) +
                         ": header has no 'split' column", file_name + ":" + std::to_string(rows[0].line));
  }

  Manifest manifest;
  manifest.records.reserve(rows.size() - 1);
  for (size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    if (row.fields.size() != header.size()) {
      return Status::error("manifest_invalid",
                           file_name + ":" + std::to_string(row.line) + ": " +
                               std::to_string(row.fields.size()) + " fields, header has " +
                               std::to_string(header.size()),
                           file_name + ":" + std::to_string(row.line));
    }
    Record record;
    for (size_t c = 0; c < header.size(); ++c) {
      const std::string& name = header[c];
      const std::string& cell = row.fields[c];
      if (name == "path") {
        if (cell.empty()) return cell_error(file_name, row.line, c, name, "empty path");
        record.path = cell;
      } else if (name == "split") {
        if (cell.empty() && options.split == SplitRule::kOptional) continue;
        std::optional<Split> split = parse_split(cell);
        if (!split) return cell_error(file_name, row.line, c, name, "'" + cell + "' is not train, val or test");
        record.split = *split;
      } else if (name == "age") {
        if (cell.empty()) continue;
        char* end = nullptr;
        errno = 0;
        const double age = std::strtod(cell.c_str(), &end);
        if (errno != 0 || end != cell.c_str() + cell.size() || !std::isfinite(age) || age < 0) {
          return cell_error(file_name, row.line, c, name, "'" + cell + "' is not a non-negative number");
        }
        record.age = age;
      } else if (name == "sex") {
        if (!cell.empty() && cell != "F" && cell != "M") {
          return cell_error(file_name, row.line, c, name, "'" + cell + "' is not F, M or empty");
        }
        record.sex = cell;
      } else if (name == "report") {
        record.report = cell;
      } else if (starts_with(name, kLabelPrefix)) {
        if (cell.empty()) continue;  // unknown
        if (cell != "0" && cell != "1") return cell_error(file_name, row.line, c, name, "'" + cell + "' is not 0, 1 or empty");
        record.labels[name.substr(sizeof kLabelPrefix - 1)] = cell == "1" ? 1 : 0;
      } else if (starts_with(name, kMaskPrefix)) {
        if (!cell.empty()) record.masks[name.substr(sizeof kMaskPrefix - 1)] = cell;
      } else if (!cell.empty()) {
        // CSV cannot tell an empty value from a missing one; both read as missing.
        record.extra[name] = cell;
      }
    }
    manifest.records.push_back(std::move(record));
  }
  return manifest;
}

std::string to_csv(const Manifest& manifest) {
  const std::vector<std::string> findings = manifest.findings();
  const std::vector<std::string> masks = manifest.mask_names();
  const std::vector<std::string> extra = manifest.extra_columns();
  std::vector<std::string> header = {"path", "split", "age", "sex", "report"};
  for (const auto& f : findings) header.push_back(kLabelPrefix + f);
  for (const auto& m : masks) header.push_back(kMaskPrefix + m);
  for (const auto& e : extra) header.push_back(e);
  std::string out = csv_line(header);
  std::vector<std::string> fields;
  for (const Record& r : manifest.records) {
    fields = {r.path, split_name(r.split), r.age ? format_age(*r.age) : "", r.sex, r.report};
    for (const auto& f : findings) {
      auto it = r.labels.find(f);
      fields.push_back(it == r.labels.end() ? "" : std::to_string(it->second));
    }
    for (const auto& m : masks) {
      auto it = r.masks.find(m);
      fields.push_back(it == r.masks.end() ? "" : it->second);
    }
    for (const auto& e : extra) {
      auto it = r.extra.find(e);
      fields.push_back(it == r.extra.end() ? "" : it->second);
    }
    out += csv_line(fields);
  }
  return out;
}

}  // namespace radflow::ml::data
