// What the workflow validators (step_parser, step_executor, validate) share when they
// collect errors: one Error per problem, numbers written the way the user wrote them.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "common/status.h"

namespace radflow {

// Appends {code, message, path}; `path` is the JSON pointer of the offending value.
inline void add_error(std::vector<Error>* errors, const char* code, std::string path,
                      std::string message) {
  errors->push_back(Error{code, std::move(message), std::move(path)});
}

// 2 -> "2", 0.5 -> "0.5": no trailing zeros in messages.
inline std::string format_number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace radflow
