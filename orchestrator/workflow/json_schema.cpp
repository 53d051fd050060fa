#include "orchestrator/workflow/json_schema.h"

#include <cmath>
#include <regex>

#include "orchestrator/workflow/error_list.h"

namespace radflow {
namespace {

using nlohmann::json;

// Messages quote at most this much of a user's string, so that a pasted blob
// does not swamp the error.
constexpr size_t kMaxQuotedChars = 60;

bool is_integral(const json& value) {
  if (value.is_number_integer()) return true;
  if (!value.is_number_float()) return false;
  double d = value.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "number") return value.is_number();
  if (type == "integer") return is_integral(value);
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  return false;
}

std::string article_for(const std::string& type) {
  if (type == "null") return "null";
  bool vowel = !type.empty() && std::string("aeiou").find(type[0]) != std::string::npos;
  return (vowel ? "an " : "a ") + type;
}

// UTF-8 code points: JSON Schema lengths count characters, not bytes.
size_t code_points(const std::string& text) {
  size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::string compact(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxQuotedChars) text = text.substr(0, kMaxQuotedChars) + "...";
  return text;
}

// Returns false when the type keyword rejects the value (the other keywords
// would only pile up confusing follow-on errors then).
bool check_type(const json& value, const json& schema, const std::string& pointer,
                std::vector<Error>* errors) {
  auto it = schema.find("type");
  if (it == schema.end()) return true;
  std::vector<std::string> types;
  if (it->is_string()) types.push_back(it->get<std::string>());
  if (it->is_array()) {
    for (const auto& t : *it) {
      if (t.is_string()) types.push_back(t.get<std::string>());
    }
  }
  if (types.empty()) return true;
  for (const auto& t : types) {
    if (has_type(value, t)) return true;
  }
  std::string expected;
  if (types.size() == 1) {
    expected = article_for(types[0]);
  } else {
    expected = "one of ";
    for (size_t i = 0; i < types.size(); ++i) expected += (i ? ", " : "") + types[i];
  }
  add_error(errors, "param_type", pointer,
            json_pointer_display(pointer) + " must be " + expected + ", got " +
                describe_json_value(value));
  return false;
}

void check_enum_const(const json& value, const json& schema, const std::string& pointer,
                      std::vector<Error>* errors) {
  auto e = schema.find("enum");
  if (e != schema.end() && e->is_array()) {
    bool found = false;
    std::string allowed;
    for (const auto& option : *e) {
      if (option == value) found = true;
      allowed += (allowed.empty() ? "" : ", ") + compact(option);
    }
    if (!found) {
      add_error(
          errors, "param_enum", pointer,
          json_pointer_display(pointer) + " must be one of " + allowed + ", got " + compact(value));
    }
  }
  auto c = schema.find("const");
  if (c != schema.end() && *c != value) {
    add_error(
        errors, "param_enum", pointer,
        json_pointer_display(pointer) + " must be " + compact(*c) + ", got " + compact(value));
  }
}

void check_number(const json& value, const json& schema, const std::string& pointer,
                  std::vector<Error>* errors) {
  double d = value.get<double>();
  struct Bound {
    const char* keyword;
    const char* relation;
    bool (*ok)(double, double);
  };
  static const Bound kBounds[] = {
      {"minimum", ">=", [](double v, double b) { return v >= b; }},
      {"maximum", "<=", [](double v, double b) { return v <= b; }},
      {"exclusiveMinimum", ">", [](double v, double b) { return v > b; }},
      {"exclusiveMaximum", "<", [](double v, double b) { return v < b; }},
  };
  for (const auto& bound : kBounds) {
    auto it = schema.find(bound.keyword);
    if (it == schema.end() || !it->is_number()) continue;
    if (!bound.ok(d, it->get<double>())) {
      add_error(errors, "param_range", pointer,
                json_pointer_display(pointer) + " must be " + bound.relation + " " + compact(*it) +
                    ", got " + compact(value));
    }
  }
}

void check_string(const json& value, const json& schema, const std::string& pointer,
                  std::vector<Error>* errors) {
  const auto& text = value.get_ref<const std::string&>();
  size_t length = code_points(text);
  auto min = schema.find("minLength");
  if (min != schema.end() && min->is_number() && length < min->get<double>()) {
    add_error(errors, "param_range", pointer,
              json_pointer_display(pointer) + " must be at least " + compact(*min) +
                  " characters long, got " + std::to_string(length) + " (" + compact(value) + ")");
  }
  auto max = schema.find("maxLength");
  if (max != schema.end() && max->is_number() && length > max->get<double>()) {
    add_error(errors, "param_range", pointer,
              json_pointer_display(pointer) + " must be at most " + compact(*max) +
                  " characters long, got " + std::to_string(length));
  }
  auto pattern = schema.find("pattern");
  if (pattern != schema.end() && pattern->is_string()) {
    const auto& source = pattern->get_ref<const std::string&>();
    // std::regex reports a bad pattern by throwing; it is the plugin author's
    // mistake, but it must still come back as a value.
    // std::regex matches recursively, about one stack frame per character: a
    // long enough string overflows any thread's stack. Patterns are for short
    // identifiers, so longer strings are refused instead of matched.
    constexpr size_t kMaxPatternSubjectBytes = 4096;
    if (text.size() > kMaxPatternSubjectBytes) {
      add_error(errors, "param_pattern", pointer,
                json_pointer_display(pointer) + " must match pattern " + compact(*pattern) +
                    "; strings over " + std::to_string(kMaxPatternSubjectBytes) +
                    " bytes are not matched, got " + std::to_string(text.size()) + " bytes");
      return;
    }
    try {
      std::regex re(source, std::regex::ECMAScript);
      if (!std::regex_search(text, re)) {
        add_error(errors, "param_pattern", pointer,
                  json_pointer_display(pointer) + " must match pattern " + compact(*pattern) +
                      ", got " + compact(value));
      }
    } catch (const std::regex_error& e) {
      add_error(errors, "invalid_schema", pointer,
                "the schema's pattern " + compact(*pattern) + " for " +
                    json_pointer_display(pointer) + " does not compile: " + e.what());
    }
  }
}

void check_array(const json& value, const json& schema, const std::string& pointer,
                 std::vector<Error>* errors) {
  auto min = schema.find("minItems");
  if (min != schema.end() && min->is_number() && value.size() < min->get<double>()) {
    add_error(errors, "param_range", pointer,
              json_pointer_display(pointer) + " must have at least " + compact(*min) +
                  " items, got " + std::to_string(value.size()));
  }
  auto max = schema.find("maxItems");
  if (max != schema.end() && max->is_number() && value.size() > max->get<double>()) {
    add_error(errors, "param_range", pointer,
              json_pointer_display(pointer) + " must have at most " + compact(*max) +
                  " items, got " + std::to_string(value.size()));
  }
  auto items = schema.find("items");
  if (items != schema.end() && items->is_object()) {
    for (size_t i = 0; i < value.size(); ++i) {
      validate_against_schema(value[i], *items, json_pointer_append(pointer, std::to_string(i)),
                              errors);
    }
  }
}

void check_object(const json& value, const json& schema, const std::string& pointer,
                  std::vector<Error>* errors) {
  auto required = schema.find("required");
  if (required != schema.end() && required->is_array()) {
    for (const auto& key : *required) {
      if (!key.is_string() || value.contains(key.get<std::string>())) continue;
      const auto& name = key.get_ref<const std::string&>();
      add_error(errors, "param_required", json_pointer_append(pointer, name),
                "missing required param \"" + name + "\" in " + json_pointer_display(pointer));
    }
  }
  static const json kEmpty = json::object();
  auto props_it = schema.find("properties");
  const json& properties = props_it != schema.end() && props_it->is_object() ? *props_it : kEmpty;
  auto additional = schema.find("additionalProperties");
  for (const auto& [key, child] : value.items()) {
    std::string child_pointer = json_pointer_append(pointer, key);
    auto prop = properties.find(key);
    if (prop != properties.end()) {
      if (prop->is_object()) validate_against_schema(child, *prop, child_pointer, errors);
      continue;
    }
    if (additional == schema.end()) continue;
    if (additional->is_boolean() && !additional->get<bool>()) {
      std::string known;
      for (const auto& [name, unused] : properties.items())
        known += (known.empty() ? "" : ", ") + name;
      add_error(errors, "param_unknown", child_pointer,
                "unknown param \"" + key + "\" in " + json_pointer_display(pointer) +
                    " (known: " + (known.empty() ? "none" : known) + ")");
    } else if (additional->is_object()) {
      validate_against_schema(child, *additional, child_pointer, errors);
    }
  }
}

}  // namespace

void validate_against_schema(const json& value, const json& schema, const std::string& pointer,
                             std::vector<Error>* errors) {
  if (!schema.is_object()) return;  // `true`, `{}` and oddities accept everything
  if (!check_type(value, schema, pointer, errors)) return;
  check_enum_const(value, schema, pointer, errors);
  if (value.is_number()) check_number(value, schema, pointer, errors);
  if (value.is_string()) check_string(value, schema, pointer, errors);
  if (value.is_array()) check_array(value, schema, pointer, errors);
  if (value.is_object()) check_object(value, schema, pointer, errors);
}

void fill_defaults(json* value, const json& schema) {
  if (!schema.is_object()) return;
  // JSON Schema counts 2.0 as an integer; plugins read integers as integers, so the
  // stored params (and the cache key) hold 2.
  auto type = schema.find("type");
  if (type != schema.end() && *type == "integer" && value->is_number_float()) {
    const double number = value->get<double>();
    if (std::floor(number) == number && std::fabs(number) < 9.0e15) {
      *value = static_cast<int64_t>(number);
    }
  }
  if (value->is_object()) {
    auto properties = schema.find("properties");
    if (properties == schema.end() || !properties->is_object()) return;
    for (const auto& [key, sub] : properties->items()) {
      if (!sub.is_object()) continue;
      if (!value->contains(key)) {
        auto def = sub.find("default");
        if (def == sub.end()) continue;
        (*value)[key] = *def;
      }
      fill_defaults(&(*value)[key], sub);
    }
  } else if (value->is_array()) {
    auto items = schema.find("items");
    if (items == schema.end() || !items->is_object()) return;
    for (auto& item : *value) fill_defaults(&item, *items);
  }
}

std::string json_pointer_escape(const std::string& token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string json_pointer_append(const std::string& pointer, const std::string& token) {
  return pointer + "/" + json_pointer_escape(token);
}

std::string json_pointer_display(const std::string& pointer) {
  if (pointer.empty()) return "value";
  std::string out;
  // Skip the leading "/"; every later "/" separates tokens.
  for (size_t i = 1; i < pointer.size(); ++i) {
    char c = pointer[i];
    if (c == '/') {
      out += '.';
    } else if (c == '~' && i + 1 < pointer.size()) {
      out += pointer[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += c;
    }
  }
  return out;
}

std::string describe_json_value(const json& value) {
  switch (value.type()) {
    case json::value_t::string:
      return "string " + compact(value);
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer " + compact(value);
    case json::value_t::number_float:
      return "number " + compact(value);
    case json::value_t::boolean:
      return std::string("boolean ") + (value.get<bool>() ? "true" : "false");
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    default:
      return "invalid value";
  }
}

}  // namespace radflow
