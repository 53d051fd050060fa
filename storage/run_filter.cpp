#include "storage/run_filter.h"

namespace radflow::storage {

RunFilterSql::RunFilterSql(const RunFilter &filter) {
  std::vector<std::string> conditions;
  auto parameter = [this](std::string value) {
    values_.push_back(std::move(value));
    return "?" + std::to_string(values_.size());
  };
  if (filter.status) conditions.push_back("status = " + parameter(*filter.status));
  if (!filter.workflow.empty()) conditions.push_back("name = " + parameter(filter.workflow));
  if (!filter.text.empty()) {
    const std::string id = parameter(filter.text[0] == '#' ? filter.text.substr(1) : filter.text);
    const std::string text = "lower(" + parameter(filter.text) + ")";
    // tags_json is checked before json_each reads it: a malformed or non-array
    // value matches no tag instead of failing the query.
    conditions.push_back(
        "(CAST(id AS TEXT) = " + id + " OR instr(lower(name), " + text +
        ") > 0 OR instr(lower(message), " + text + ") > 0 OR instr(lower(submitted_by), " + text +
        ") > 0 OR CASE WHEN NOT json_valid(tags_json) THEN 0 "
        "WHEN json_type(tags_json) <> 'array' THEN 0 "
        "ELSE EXISTS (SELECT 1 FROM json_each(tags_json) WHERE type = 'text' AND "
        "instr(lower(value), " + text + ") > 0) END)");
  }
  for (size_t i = 0; i < conditions.size(); ++i) {
    where_ += (i == 0 ? "WHERE " : " AND ") + conditions[i];
  }
  if (!where_.empty()) where_ += ' ';
}

void RunFilterSql::bind(Statement &stmt) const {
  for (size_t i = 0; i < values_.size(); ++i) stmt.bind(static_cast<int>(i) + 1, values_[i]);
}

std::string RunFilterSql::page_clause() const {
  const int limit = parameter_count() + 1;
  return "LIMIT ?" + std::to_string(limit) + " OFFSET ?" + std::to_string(limit + 1) + " ";
}

void RunFilterSql::bind_page(Statement &stmt, int limit, int offset) const {
  stmt.bind(parameter_count() + 1, limit).bind(parameter_count() + 2, offset);
}

}  // namespace radflow::storage
