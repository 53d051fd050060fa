// Canonical JSON and step cache keys.
//
// canonical_json() prints a value the same way whatever the key order or
// whitespace it was written with: object keys sorted by their UTF-8 bytes, no
// whitespace, strings escaped as JSON requires (non-ASCII kept as UTF-8, invalid
// UTF-8 replaced by U+FFFD). Numbers keep their JSON type: an integer prints
// without a fraction (1, -3), a floating-point number always with one or an
// exponent, in the shortest form that reads back to the same double (1.0, 0.001,
// 1e+20). So 1 and 1.0 print differently -- they are different types -- while
// equal values of the same type always print the same.
//
// Free functions; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "orchestrator/workflow/workflow.h"

namespace radflow {

std::string canonical_json(const nlohmann::json& value);

// The step cache key: lower-case sha256 hex of a versioned, length-prefixed
// encoding of the plugin name, plugin version, the plugin library's sha256 (so a
// rebuilt plugin with an unchanged version misses the cache), canonical params and, for each
// bound input in input-name order (spec.inputs' order), the input name and the
// digest of the artifact it reads. Two steps share a key exactly when all of
// these are equal. `input_digests_in_input_name_order` must have one digest per
// entry of spec.inputs (a programmer error otherwise).
std::string step_cache_key(const StepSpec& spec,
                           const std::vector<std::string>& input_digests_in_input_name_order);

}  // namespace radflow
