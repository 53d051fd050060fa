// The "not_found" Status every Store lookup returns for a missing row.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace radflow::storage {

// "<what> <id> not found", code "not_found" (the API answers it with 404).
inline Status not_found(const std::string& what, int64_t id) {
  return Status::error("not_found", what + " " + std::to_string(id) + " not found");
}

}  // namespace radflow::storage
