// RunFilter: the WHERE clause shared by the run list, its count and the
// dashboard's run search, holding only the conditions a request sets.
//
// Why not one statement with catch-all conditions such as
// "(?1 IS NULL OR status = ?1)": SQLite plans a statement before it sees its
// parameters, so a catch-all hides the runs_by_status index from the planner
// and stops COUNT(*) from counting an index's entries without testing each row.
// At 10,000 runs the unfiltered count took 0.32 ms that way against 0.01 ms, a
// third of SQLite's share of every run-list request (BENCHMARKS.md, API).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/database.h"

namespace radflow::storage {

struct RunFilter {
  std::optional<std::string> status;  // exact status; none: any
  std::string workflow;               // exact run (workflow) name; empty: any
  // Empty: any. Otherwise a run matches when text is its id ("42" or "#42") or an
  // ASCII case-insensitive substring of its name, message, submitter or one of
  // its tags (a tags_json that is not a JSON array matches no tag).
  std::string text;
};

class RunFilterSql {
 public:
  explicit RunFilterSql(const RunFilter &filter);

  // "" when nothing is filtered; otherwise "WHERE ... " (with a trailing space)
  // over the columns of `runs`, whose parameters are ?1 .. ?parameter_count().
  const std::string &where() const { return where_; }
  int parameter_count() const { return static_cast<int>(values_.size()); }
  // Binds the filter's values to ?1 .. ?parameter_count(); a statement's own
  // parameters start at ?parameter_count() + 1.
  void bind(Statement &stmt) const;
  // "LIMIT ?n OFFSET ?n+1 ", numbered after the filter's parameters, and its binding.
  std::string page_clause() const;
  void bind_page(Statement &stmt, int limit, int offset) const;

 private:
  std::string where_;
  std::vector<std::string> values_;  // ?1, ?2, ... in order
};

}  // namespace radflow::storage
