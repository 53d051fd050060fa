#include "plugins/ml/data/csv_table.h"

namespace radflow::ml::data {
namespace {

Status csv_error(const std::string& file, int line, int column, const std::string& what) {
  const std::string where = file + ":" + std::to_string(line) + ":" + std::to_string(column);
  return Status::error("manifest_invalid", where + ": " + what, where);
}

bool blank(const CsvRow& row) { return row.fields.size() == 1 && row.fields[0].empty(); }

}  // namespace

Result<std::vector<CsvRow>> parse_csv(std::string_view text, const std::string& file_name) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string field;
  int line = 1;
  size_t i = 0;
  row.line = 1;
  // A field-level state machine; `quoted_field_line` remembers where an open quote
  // began so an unterminated one is reported where the user can find it.
  bool in_quotes = false, was_quoted = false;
  int quoted_field_line = 0, quoted_field_column = 0;
  auto end_row = [&]() {
    row.fields.push_back(std::move(field));
    field.clear();
    if (!blank(row)) rows.push_back(std::move(row));
    row = CsvRow{};
    row.line = line;
    was_quoted = false;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          i += 2;
          continue;
        }
        in_quotes = false;
        ++i;
        continue;
      }
      if (c == '\n') ++line;
      field += c;
      ++i;
      continue;
    }
    if (c == ',') {
      row.fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
      ++i;
    } else if (c == '\r' || c == '\n') {
      ++i;
      if (c == '\r' && i < text.size() && text[i] == '\n') ++i;
      ++line;
      end_row();
    } else if (c == '"') {
      if (!field.empty() || was_quoted) {
        return csv_error(file_name, line, static_cast<int>(row.fields.size()) + 1,
                         "unexpected '\"' inside a field (quote the whole field and double inner quotes)");
      }
      in_quotes = was_quoted = true;
      quoted_field_line = line;
      quoted_field_column = static_cast<int>(row.fields.size()) + 1;
      ++i;
    } else {
      if (was_quoted) {
        return csv_error(file_name, line, static_cast<int>(row.fields.size()) + 1,
                         "text after the closing quote of a quoted field");
      }
      field += c;
      ++i;
    }
  }
  if (in_quotes) {
    return csv_error(file_name, quoted_field_line, quoted_field_column,
                     "quoted field is never closed");
  }
  if (!field.empty() || !row.fields.empty() || was_quoted) end_row();
  return rows;
}

std::string csv_field(std::string_view value) {
  const bool needs_quotes = value.find_first_of(",\"\r\n") != std::string_view::npos ||
                            (!value.empty() && (value.front() == ' ' || value.back() == ' '));
  if (!needs_quotes) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += csv_field(fields[i]);
  }
  out += '\n';
  return out;
}

}  // namespace radflow::ml::data
