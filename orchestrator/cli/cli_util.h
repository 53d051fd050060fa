// Helpers every CLI command shares: exit codes, one-line error reports, --help.
#pragma once

#include <cstdio>
#include <filesystem>
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

// A "failed" status (exit code kFailed through report()).
inline Status failed(const std::string& message) { return Status::error("failed", message); }

// A run id as the API hands them out: a positive decimal integer that fits int64.
inline bool is_run_id(const std::string& text) {
  return !text.empty() && text.size() < 19 && text.find_first_not_of("0123456789") == std::string::npos &&
         std::stoll(text) > 0;
}

// PATH made absolute against the working directory (the daemon and its workers resolve
// paths elsewhere); PATH itself when that fails.
inline std::string absolute_path(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

inline bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") return true;
  }
  return false;
}

}  // namespace radflow::cli
