#include "orchestrator/workflow/plugin_info.h"

#include <gtest/gtest.h>

#include "orchestrator/workflow/workflow.h"
#include "tests/workflow/test_plugins.h"

namespace radflow {
namespace {

using nlohmann::json;

TEST(PluginInfo, JsonRoundTrip) {
  PluginInfo train = testing::test_plugins().at("train");
  train.description = "trains";
  train.path = "/opt/plugins/libtrain.so";
  train.sha256 = "abc";
  json j = to_json(train);
  EXPECT_EQ(j["inputs"][1], json::parse(R"({"name": "init", "description": "starting weights",
                                            "optional": true})"));
  PluginInfo back;
  std::string error;
  ASSERT_TRUE(from_json(j, &back, &error)) << error;
  EXPECT_EQ(to_json(back), j);
  EXPECT_EQ(back.version, "2.1.0");
  ASSERT_NE(back.find_input("init"), nullptr);
  EXPECT_TRUE(back.find_input("init")->optional);
  EXPECT_NE(back.find_output("curves"), nullptr);
  EXPECT_EQ(back.find_output("nope"), nullptr);
}

TEST(PluginInfo, OptionalFieldsDefault) {
  PluginInfo info;
  std::string error;
  ASSERT_TRUE(from_json(json::parse(R"({"name": "p", "version": "1"})"), &info, &error));
  EXPECT_EQ(info.params_schema, json::object());
  EXPECT_TRUE(info.inputs.empty());
}

TEST(PluginInfo, MalformedDescriptorNamesTheField) {
  struct Case {
    const char* json;
    const char* field;
  };
  const Case cases[] = {
      {R"([])", "object"},
      {R"({"version": "1"})", "name"},
      {R"({"name": "p"})", "version"},
      {R"({"name": "p", "version": 1})", "version"},
      {R"({"name": "p", "version": "1", "params_schema": "x"})", "params_schema"},
      {R"({"name": "p", "version": "1", "inputs": {}})", "inputs"},
      {R"({"name": "p", "version": "1", "inputs": [{"description": "d"}]})", "inputs[0].name"},
      {R"({"name": "p", "version": "1", "outputs": [{"name": "o", "optional": 1}]})",
       "outputs[0].optional"},
      {R"({"name": "p", "version": "1", "outputs": [{"name": "o"}, {"name": "o"}]})",
       "outputs[1].name"},
  };
  for (const auto& c : cases) {
    PluginInfo info;
    info.name = "untouched";
    std::string error;
    EXPECT_FALSE(from_json(json::parse(c.json), &info, &error)) << c.json;
    EXPECT_NE(error.find(c.field), std::string::npos) << c.json << ": " << error;
    EXPECT_EQ(info.name, "untouched");
  }
}

TEST(Workflow, UpstreamIsSortedAndUnique) {
  StepSpec spec;
  spec.inputs = {{"a", "zeta", "x"}, {"b", "alpha", "y"}, {"c", "zeta", "z"}};
  EXPECT_EQ(spec.upstream(), (std::vector<std::string>{"alpha", "zeta"}));
  EXPECT_TRUE(StepSpec().upstream().empty());
}

TEST(Workflow, FindStep) {
  Workflow wf;
  wf.steps.resize(2);
  wf.steps[0].name = "a";
  wf.steps[1].name = "b";
  ASSERT_NE(wf.find_step("b"), nullptr);
  EXPECT_EQ(wf.find_step("b")->name, "b");
  EXPECT_EQ(wf.find_step("c"), nullptr);
}

}  // namespace
}  // namespace radflow
