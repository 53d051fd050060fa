// CSV (RFC 4180) reading and writing for the manifest: fields separated by commas,
// optionally quoted with '"', quotes doubled inside quoted fields, quoted fields may
// span lines, CRLF or LF line ends, a UTF-8 BOM is skipped. Free functions over
// values; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace radflow::ml::data {

struct CsvRow {
  int line = 0;  // 1-based physical line on which the row starts
  std::vector<std::string> fields;
};

// Parses `text`; `file_name` only goes into error messages. Errors (code
// "manifest_invalid", path "file:line:column"): an unterminated quoted field, a quote
// inside an unquoted field, text after a closing quote. Blank lines are skipped.
Result<std::vector<CsvRow>> parse_csv(std::string_view text, const std::string& file_name);

// The field as it must be written: quoted (quotes doubled) when it holds a comma,
// quote, CR, LF, or leading/trailing space; unchanged otherwise.
std::string csv_field(std::string_view value);

// One row joined with commas, ended by "\n".
std::string csv_line(const std::vector<std::string>& fields);

}  // namespace radflow::ml::data
