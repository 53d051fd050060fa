// Helpers every CLI command shares: exit codes, one-line error reports, --help.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "common/status.h"

namespace radflow::cli {

constexpr int kOk = 0, kFailed = 1, kUsage = 2, kUnreachable = 3;

inline int report(const Status& status) {
  std::fprintf(stderr, "radflow: %s\n", status.message().c_str());
  return status.code() == "unreachable" ? kUnreachable : kFailed;
}

inline int usage_error(const std::string& message, const std::string& command) {
  std::fprintf(stderr, "radflow: %s (see radflow %s --help)\n", message.c_str(), command.c_str());
  return kUsage;
}

inline bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") return true;
  }
  return false;
}

}  // namespace radflow::cli
