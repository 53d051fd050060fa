#include "orchestrator/workflow/canonical_json.h"

#include <gtest/gtest.h>

namespace radflow {
namespace {

using nlohmann::json;

TEST(CanonicalJson, SortedKeysNoWhitespace) {
  EXPECT_EQ(canonical_json(json::parse(R"({ "b": [1, {"z": null, "a": true}], "a": "x" })")),
            R"({"a":"x","b":[1,{"a":true,"z":null}]})");
}

TEST(CanonicalJson, StableAcrossKeyOrderAndFormatting) {
  json one = json::parse(R"({"lr": 0.001, "opt": {"beta": 0.9, "eps": 1e-8}, "n": 3})");
  json two = json::parse("{\n  \"n\" : 3,\n\"opt\":{\"eps\":1E-8,\"beta\":0.90},\"lr\":1e-3}");
  EXPECT_EQ(canonical_json(one), canonical_json(two));
}

TEST(CanonicalJson, NumbersKeepTheirType) {
  EXPECT_EQ(canonical_json(json(1)), "1");
  EXPECT_EQ(canonical_json(json(1.0)), "1.0");
  EXPECT_EQ(canonical_json(json(1u)), "1");
  EXPECT_EQ(canonical_json(json(-3)), "-3");
  EXPECT_EQ(canonical_json(json::parse("0.1")), "0.1");
  EXPECT_EQ(canonical_json(json::parse("1e20")), "1e+20");
}

TEST(CanonicalJson, StringsEscapedUtf8Kept) {
  EXPECT_EQ(canonical_json(json("a\"b\n\xc3\xa9")), "\"a\\\"b\\n\xc3\xa9\"");
  // Invalid UTF-8 does not throw.
  EXPECT_NO_THROW(canonical_json(json(std::string("\xff"))));
}

StepSpec train_step() {
  StepSpec spec;
  spec.name = "train";
  spec.plugin = "train";
  spec.plugin_version = "2.1.0";
  spec.params = json::parse(R"({"lr": 0.001, "epochs": 10})");
  spec.inputs = {{"dataset", "gen", "dataset"}, {"init", "base", "checkpoint"}};
  return spec;
}

TEST(StepCacheKey, IsHexSha256AndIgnoresKeyOrderAndStepName) {
  StepSpec a = train_step();
  StepSpec b = train_step();
  b.name = "other";
  b.params = json::parse(R"({"epochs": 10, "lr": 0.001})");
  std::string key = step_cache_key(a, {"d1", "d2"});
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(key, step_cache_key(b, {"d1", "d2"}));
}

TEST(StepCacheKey, IgnoresWhereTheStepRuns) {
  StepSpec local = train_step();
  StepSpec cluster = train_step();
  cluster.executor = "slurm";
  cluster.executor_options = json::parse(R"({"partition": "gpu"})");
  EXPECT_EQ(step_cache_key(local, {"d1", "d2"}), step_cache_key(cluster, {"d1", "d2"}));
}

TEST(StepCacheKey, ChangesWithEachIngredient) {
  StepSpec base = train_step();
  const std::string key = step_cache_key(base, {"d1", "d2"});
  StepSpec s = base;
  s.params["lr"] = 0.002;
  EXPECT_NE(step_cache_key(s, {"d1", "d2"}), key);
  s = base;
  s.params["epochs"] = 10.0;  // same value, other type
  EXPECT_NE(step_cache_key(s, {"d1", "d2"}), key);
  s = base;
  s.plugin_version = "2.1.1";
  EXPECT_NE(step_cache_key(s, {"d1", "d2"}), key);
  s = base;
  s.plugin_sha256 = "a rebuilt library";
  EXPECT_NE(step_cache_key(s, {"d1", "d2"}), key);
  s = base;
  s.plugin = "train2";
  EXPECT_NE(step_cache_key(s, {"d1", "d2"}), key);
  EXPECT_NE(step_cache_key(base, {"d1", "d3"}), key);
  EXPECT_NE(step_cache_key(base, {"d2", "d1"}), key);
  s = base;
  s.inputs[1].input = "init2";  // same digests bound to another input
  EXPECT_NE(step_cache_key(s, {"d1", "d2"}), key);
}

TEST(StepCacheKey, FieldBoundariesAreUnambiguous) {
  StepSpec a;
  a.plugin = "ab";
  a.plugin_version = "c";
  StepSpec b;
  b.plugin = "a";
  b.plugin_version = "bc";
  EXPECT_NE(step_cache_key(a, {}), step_cache_key(b, {}));
}

}  // namespace
}  // namespace radflow
