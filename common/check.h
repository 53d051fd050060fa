// RF_CHECK: an always-on assertion for programmer errors (broken invariants), never
// for user input. On failure it prints the condition, the place and a message to
// stderr and aborts, so a core dump or the worker's exit reason points at the bug.
#pragma once

#include <string>

namespace radflow::detail {
[[noreturn]] void check_failed(const char* condition, const char* file, int line,
                               const std::string& message);
}  // namespace radflow::detail

#define RF_CHECK(condition, message)                                                \
  do {                                                                              \
    if (!(condition)) {                                                             \
      ::radflow::detail::check_failed(#condition, __FILE__, __LINE__, (message));   \
    }                                                                               \
  } while (0)
