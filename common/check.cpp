#include "common/check.h"

#include <cstdio>
#include <cstdlib>

namespace radflow::detail {

void check_failed(const char* condition, const char* file, int line,
                  const std::string& message) {
  std::fprintf(stderr, "radflow: check failed: %s at %s:%d: %s\n", condition, file, line,
               message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace radflow::detail
