// A validator for the subset of JSON Schema that plugin params schemas use, and
// JSON pointer helpers (RFC 6901) shared by the workflow validator.
//
// Supported keywords: type (object, array, string, number, integer, boolean,
// null, or an array of these), properties, required, additionalProperties
// (false or a schema), enum, const, minimum, maximum, exclusiveMinimum,
// exclusiveMaximum (numbers, draft 6+ style), minLength, maxLength (in code
// points), pattern (std::regex ECMAScript, unanchored as JSON Schema says),
// items (one schema for every element), minItems, maxItems, default.
// Other keywords are ignored. "integer" accepts any number with no fractional
// part (2.0 included), as JSON Schema does.
//
// Error codes: param_type, param_required, param_unknown, param_enum (enum and
// const), param_range (minimum/maximum/exclusive*/length/item counts),
// param_pattern, and invalid_schema when the schema itself is broken (a pattern
// that does not compile). Each error's path is a JSON pointer: the pointer passed
// in plus the place inside `value`; for param_required and param_unknown it is the
// missing or unknown key's own pointer.
//
// Stateless free functions; safe to call from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace radflow {

// Checks `value` against `schema`, appending every problem found to `errors`
// (it does not stop at the first). `pointer` is where `value` sits in the
// enclosing document, e.g. "/steps/train/params"; messages name the place in
// dotted form ("steps.train.params.lr must be a number, got string \"fast\"").
void validate_against_schema(const nlohmann::json& value, const nlohmann::json& schema,
                             const std::string& pointer, std::vector<Error>* errors);

// Inserts each missing property that has a "default" in `schema`, recursively
// (into nested objects and array items). Existing values are never replaced.
// Also turns integral numbers like 2.0 into integers where the schema says "integer".
void fill_defaults(nlohmann::json* value, const nlohmann::json& schema);

// RFC 6901 escaping of one reference token: "~" -> "~0", "/" -> "~1".
std::string json_pointer_escape(const std::string& token);
// pointer + "/" + escaped token.
std::string json_pointer_append(const std::string& pointer, const std::string& token);
// "/steps/a~1b/params/lr" -> "steps.a/b.params.lr"; "" -> "value". For messages.
std::string json_pointer_display(const std::string& pointer);
// A short description of a value for messages: `string "fast"`, `integer 3`,
// `number 0.5`, `boolean true`, `null`, `object`, `array`. Long strings are cut.
std::string describe_json_value(const nlohmann::json& value);

}  // namespace radflow
