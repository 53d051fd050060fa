#include "orchestrator/workflow/canonical_json.h"

#include <algorithm>

#include "common/check.h"
#include "common/sha256.h"

namespace radflow {
namespace {

using nlohmann::json;

std::string scalar(const json& value) {
  // nlohmann prints floats in the shortest round-trip form and always with a
  // ".0" or exponent, integers without; that is exactly the canonical form.
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void append_canonical(const json& value, std::string* out) {
  if (value.is_object()) {
    // Sort explicitly rather than rely on the json type's map ordering.
    std::vector<const std::string*> keys;
    for (const auto& [key, unused] : value.items()) keys.push_back(&key);
    std::sort(keys.begin(), keys.end(),
              [](const std::string* a, const std::string* b) { return *a < *b; });
    out->push_back('{');
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i) out->push_back(',');
      out->append(scalar(json(*keys[i])));
      out->push_back(':');
      append_canonical(value.at(*keys[i]), out);
    }
    out->push_back('}');
  } else if (value.is_array()) {
    out->push_back('[');
    for (size_t i = 0; i < value.size(); ++i) {
      if (i) out->push_back(',');
      append_canonical(value[i], out);
    }
    out->push_back(']');
  } else {
    out->append(scalar(value));
  }
}

// Netstring-style "<length>:<bytes>," so that no field's content can be
// mistaken for a separator.
void append_field(const std::string& field, std::string* out) {
  out->append(std::to_string(field.size()));
  out->push_back(':');
  out->append(field);
  out->push_back(',');
}

}  // namespace

std::string canonical_json(const json& value) {
  std::string out;
  append_canonical(value, &out);
  return out;
}

std::string step_cache_key(const StepSpec& spec,
                           const std::vector<std::string>& input_digests_in_input_name_order) {
  RF_CHECK(input_digests_in_input_name_order.size() == spec.inputs.size(),
           "step_cache_key: " + std::to_string(input_digests_in_input_name_order.size()) +
               " digests for " + std::to_string(spec.inputs.size()) + " inputs of step " +
               spec.name);
  std::string encoded;
  // spec.executor and spec.executor_options stay out on purpose: the same plugin
  // build on the same params and inputs computes the same outputs wherever it runs,
  // so a step run on Slurm serves the same step run locally from the cache.
  // The version tag lets the encoding change later without colliding with old keys.
  append_field("radflow-step-cache-v2", &encoded);
  append_field(spec.plugin, &encoded);
  append_field(spec.plugin_version, &encoded);
  append_field(spec.plugin_sha256, &encoded);
  append_field(canonical_json(spec.params), &encoded);
  append_field(std::to_string(spec.inputs.size()), &encoded);
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    append_field(spec.inputs[i].input, &encoded);
    append_field(input_digests_in_input_name_order[i], &encoded);
  }
  return sha256_hex(encoded);
}

}  // namespace radflow
