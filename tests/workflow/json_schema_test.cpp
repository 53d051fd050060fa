#include "orchestrator/workflow/json_schema.h"

#include <gtest/gtest.h>

namespace radflow {
namespace {

using nlohmann::json;

std::vector<Error> check(const json& value, const char* schema) {
  std::vector<Error> errors;
  validate_against_schema(value, json::parse(schema), "/params", &errors);
  return errors;
}

// One error expected: returns it (or a blank one after a test failure).
Error single(const json& value, const char* schema) {
  auto errors = check(value, schema);
  EXPECT_EQ(errors.size(), 1u) << value.dump() << " against " << schema;
  return errors.empty() ? Error{} : errors[0];
}

TEST(JsonSchema, TypeKeywordAcceptsMatchingTypes) {
  EXPECT_TRUE(check("x", R"({"type": "string"})").empty());
  EXPECT_TRUE(check(1, R"({"type": "number"})").empty());
  EXPECT_TRUE(check(1.5, R"({"type": "number"})").empty());
  EXPECT_TRUE(check(3, R"({"type": "integer"})").empty());
  EXPECT_TRUE(check(3.0, R"({"type": "integer"})").empty());  // no fraction: an integer
  EXPECT_TRUE(check(true, R"({"type": "boolean"})").empty());
  EXPECT_TRUE(check(nullptr, R"({"type": "null"})").empty());
  EXPECT_TRUE(check(json::array(), R"({"type": "array"})").empty());
  EXPECT_TRUE(check(json::object(), R"({"type": "object"})").empty());
  EXPECT_TRUE(check(nullptr, R"({"type": ["integer", "null"]})").empty());
}

TEST(JsonSchema, TypeMismatchSaysExpectedAndFound) {
  Error e = single(json::object({{"lr", "fast"}}), R"({"properties": {"lr": {"type": "number"}}})");
  EXPECT_EQ(e.code, "param_type");
  EXPECT_EQ(e.path, "/params/lr");
  EXPECT_EQ(e.message, "params.lr must be a number, got string \"fast\"");
  EXPECT_EQ(single(2.5, R"({"type": "integer"})").message,
            "params must be an integer, got number 2.5");
  EXPECT_EQ(single(true, R"({"type": ["integer", "null"]})").message,
            "params must be one of integer, null, got boolean true");
  EXPECT_EQ(single(1, R"({"type": "string"})").code, "param_type");
  EXPECT_EQ(single("1", R"({"type": "boolean"})").code, "param_type");
}

TEST(JsonSchema, RequiredReportsEachMissingKeyAtItsPath) {
  auto errors = check(json::object(), R"({"required": ["a", "b"]})");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].code, "param_required");
  EXPECT_EQ(errors[0].path, "/params/a");
  EXPECT_NE(errors[0].message.find("\"a\""), std::string::npos);
  EXPECT_EQ(errors[1].path, "/params/b");
}

TEST(JsonSchema, AdditionalPropertiesFalseListsKnownParams) {
  Error e = single(json::parse(R"({"lr": 1, "lrr": 2})"),
                   R"({"properties": {"lr": {}, "epochs": {}}, "additionalProperties": false})");
  EXPECT_EQ(e.code, "param_unknown");
  EXPECT_EQ(e.path, "/params/lrr");
  EXPECT_EQ(e.message, "unknown param \"lrr\" in params (known: epochs, lr)");
}

TEST(JsonSchema, AdditionalPropertiesSchemaAppliesToExtraKeys) {
  const char* schema = R"({"properties": {"a": {}}, "additionalProperties": {"type": "integer"}})";
  EXPECT_TRUE(check(json::parse(R"({"a": "s", "b": 1})"), schema).empty());
  EXPECT_EQ(single(json::parse(R"({"b": "x"})"), schema).path, "/params/b");
  // Without the keyword, extra keys are fine.
  EXPECT_TRUE(check(json::parse(R"({"zzz": 1})"), R"({"properties": {"a": {}}})").empty());
}

TEST(JsonSchema, EnumAndConst) {
  Error e = single("mri", R"({"enum": ["cxr", "ct"]})");
  EXPECT_EQ(e.code, "param_enum");
  EXPECT_EQ(e.message, "params must be one of \"cxr\", \"ct\", got \"mri\"");
  EXPECT_TRUE(check("ct", R"({"enum": ["cxr", "ct"]})").empty());
  EXPECT_EQ(single(2, R"({"const": 1})").code, "param_enum");
  EXPECT_TRUE(check(1, R"({"const": 1})").empty());
}

TEST(JsonSchema, NumericBounds) {
  EXPECT_TRUE(check(0, R"({"minimum": 0, "maximum": 1})").empty());
  EXPECT_TRUE(check(1, R"({"minimum": 0, "maximum": 1})").empty());
  Error low = single(-1, R"({"minimum": 0})");
  EXPECT_EQ(low.code, "param_range");
  EXPECT_EQ(low.message, "params must be >= 0, got -1");
  EXPECT_EQ(single(1.5, R"({"maximum": 1})").message, "params must be <= 1, got 1.5");
  EXPECT_EQ(single(0, R"({"exclusiveMinimum": 0})").message, "params must be > 0, got 0");
  EXPECT_EQ(single(1, R"({"exclusiveMaximum": 1})").message, "params must be < 1, got 1");
  EXPECT_TRUE(check(0.5, R"({"exclusiveMinimum": 0, "exclusiveMaximum": 1})").empty());
}

TEST(JsonSchema, StringLengthCountsCodePoints) {
  EXPECT_TRUE(check("\xc3\xa9t\xc3\xa9", R"({"maxLength": 3})").empty());  // "été"
  Error shorter = single("ab", R"({"minLength": 3})");
  EXPECT_EQ(shorter.code, "param_range");
  EXPECT_NE(shorter.message.find("at least 3 characters"), std::string::npos);
  EXPECT_EQ(single("abcd", R"({"maxLength": 3})").code, "param_range");
}

TEST(JsonSchema, PatternIsUnanchoredEcmaScript) {
  EXPECT_TRUE(check("vit-b", R"({"pattern": "^vit-[a-z]+$"})").empty());
  EXPECT_TRUE(check("my-vit-b", R"({"pattern": "vit"})").empty());
  Error e = single("resnet", R"({"pattern": "^vit-[a-z]+$"})");
  EXPECT_EQ(e.code, "param_pattern");
  EXPECT_NE(e.message.find("^vit-[a-z]+$"), std::string::npos);
  EXPECT_NE(e.message.find("resnet"), std::string::npos);
}

TEST(JsonSchema, BrokenPatternIsAnErrorNotACrash) {
  EXPECT_EQ(single("x", R"({"pattern": "(unclosed"})").code, "invalid_schema");
}

TEST(JsonSchema, ItemsAndItemCounts) {
  const char* schema = R"({"items": {"type": "integer"}, "minItems": 1, "maxItems": 3})";
  EXPECT_TRUE(check(json::array({1, 2}), schema).empty());
  auto errors = check(json::array({1, "x", 3, "y"}), schema);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].code, "param_range");  // maxItems first, then each item
  EXPECT_EQ(errors[1].path, "/params/1");
  EXPECT_EQ(errors[2].path, "/params/3");
  EXPECT_EQ(single(json::array(), schema).code, "param_range");
}

TEST(JsonSchema, CollectsErrorsFromNestedObjects) {
  const char* schema = R"({
    "type": "object",
    "properties": {
      "opt": {"type": "object", "properties": {"lr": {"type": "number"}}, "required": ["beta"]},
      "n": {"type": "integer", "minimum": 1}
    }
  })";
  auto errors = check(json::parse(R"({"opt": {"lr": "x"}, "n": 0})"), schema);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].path, "/params/n");
  EXPECT_EQ(errors[1].path, "/params/opt/beta");
  EXPECT_EQ(errors[2].path, "/params/opt/lr");
}

TEST(JsonSchema, PathsEscapeTildeAndSlash) {
  Error e = single(json::parse(R"({"a/b~c": 1})"), R"({"additionalProperties": false})");
  EXPECT_EQ(e.path, "/params/a~1b~0c");
  EXPECT_EQ(json_pointer_display("/params/a~1b~0c"), "params.a/b~c");
  EXPECT_EQ(json_pointer_display(""), "value");
}

TEST(JsonSchema, FillDefaultsInsertsMissingRecursively) {
  json schema = json::parse(R"({
    "properties": {
      "lr": {"default": 0.1},
      "epochs": {"default": 10},
      "opt": {"default": {}, "properties": {"beta": {"default": 0.9}}},
      "layers": {"items": {"properties": {"width": {"default": 64}}}}
    }
  })");
  json value = json::parse(R"({"epochs": 3, "layers": [{}, {"width": 8}]})");
  fill_defaults(&value, schema);
  EXPECT_EQ(value, json::parse(R"({"lr": 0.1, "epochs": 3, "opt": {"beta": 0.9},
                                   "layers": [{"width": 64}, {"width": 8}]})"));
}

TEST(JsonSchema, DescribeValue) {
  EXPECT_EQ(describe_json_value("x"), "string \"x\"");
  EXPECT_EQ(describe_json_value(3), "integer 3");
  EXPECT_EQ(describe_json_value(0.5), "number 0.5");
  EXPECT_EQ(describe_json_value(false), "boolean false");
  EXPECT_EQ(describe_json_value(nullptr), "null");
  EXPECT_EQ(describe_json_value(json::object()), "object");
  EXPECT_LT(describe_json_value(std::string(500, 'a')).size(), 100u);
}

}  // namespace
}  // namespace radflow
