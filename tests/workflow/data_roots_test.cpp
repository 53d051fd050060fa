// Path params ("format": "path") held to the data roots: "..", absolute paths
// outside, symlinks out of a root, relative paths, array items and run params are
// each refused with the JSON pointer of the place the path was written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "orchestrator/workflow/data_roots.h"
#include "orchestrator/workflow/validate.h"
#include "tests/workflow/test_plugins.h"

namespace radflow {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class DataRootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/radflow-roots-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/root";
    fs::create_directories(root_ + "/images");
    std::ofstream(root_ + "/labels.csv") << "path\n";
    std::ofstream(base_ + "/secret.csv") << "patient\n";
    fs::create_symlink(base_, root_ + "/escape");
    roots_ = DataRoots({root_});

    PluginInfo reader;
    reader.name = "reader";
    reader.version = "1.0.0";
    reader.params_schema = json::parse(R"({
      "type": "object",
      "properties": {
        "images_dir": {"type": "string", "format": "path"},
        "labels": {"type": "string", "format": "path"},
        "extra": {"type": "array", "items": {"type": "string", "format": "path"}},
        "nested": {"type": "object", "properties": {"file": {"type": "string", "format": "path"}}},
        "name": {"type": "string"}
      },
      "additionalProperties": false
    })");
    reader.outputs = {{"out", "", false}};
    plugins_[reader.name] = reader;
  }
  void TearDown() override { fs::remove_all(base_); }

  std::vector<Error> errors_of(const json& workflow) {
    ValidationResult result =
        parse_workflow(workflow.dump(), plugins_, testing::test_capacity(), {}, &roots_);
    return result.errors;
  }
  // The params' single error, checked for its code and pointer.
  Error single_error(const json& params, const std::string& code, const std::string& pointer) {
    auto errors = errors_of(step_with(params));
    EXPECT_EQ(errors.size(), 1u);
    if (errors.empty()) return Error{};
    EXPECT_EQ(errors[0].code, code) << errors[0].message;
    EXPECT_EQ(errors[0].path, pointer) << errors[0].message;
    return errors[0];
  }
  json step_with(const json& params) {
    return {{"name", "w"}, {"steps", {{"s", {{"plugin", "reader"}, {"params", params}}}}}};
  }

  std::string base_, root_;
  DataRoots roots_;
  std::map<std::string, PluginInfo> plugins_;
};

TEST_F(DataRootsTest, PathsInsideARootPass) {
  auto errors = errors_of(step_with({{"images_dir", root_ + "/images"},
                                     {"labels", root_ + "/labels.csv"},
                                     {"extra", {root_ + "/not-yet-there.csv"}},
                                     {"nested", {{"file", root_}}},
                                     {"name", "/etc/not-a-path-param"}}));
  EXPECT_TRUE(errors.empty()) << errors.front().message;
}

TEST_F(DataRootsTest, DotDotOutOfARootIsRefused) {
  Error error = single_error({{"labels", root_ + "/images/../../secret.csv"}},
                             "path_outside_data_roots", "/steps/s/params/labels");
  EXPECT_NE(error.message.find(base_ + "/secret.csv"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("--data-root"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find(root_), std::string::npos) << error.message;
}

TEST_F(DataRootsTest, AbsolutePathOutsideIsRefused) {
  single_error({{"images_dir", "/etc"}}, "path_outside_data_roots", "/steps/s/params/images_dir");
}

TEST_F(DataRootsTest, SymlinkOutOfARootIsRefused) {
  single_error({{"labels", root_ + "/escape/secret.csv"}}, "path_outside_data_roots",
               "/steps/s/params/labels");
}

TEST_F(DataRootsTest, RelativePathIsRefused) {
  single_error({{"images_dir", "images"}}, "path_relative", "/steps/s/params/images_dir");
}

TEST_F(DataRootsTest, ArrayItemsAndNestedObjectsAreChecked) {
  auto errors = errors_of(step_with({{"extra", {root_ + "/labels.csv", "/etc/passwd"}},
                                     {"nested", {{"file", "/etc/passwd"}}}}));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "/steps/s/params/extra/1");
  EXPECT_EQ(errors[1].path, "/steps/s/params/nested/file");
}

TEST_F(DataRootsTest, RunParamIsReportedWhereItIsWritten) {
  json workflow = {{"name", "w"},
                   {"params", {{"labels", base_ + "/secret.csv"}}},
                   {"steps",
                    {{"a", {{"plugin", "reader"}, {"params", {{"labels", "${params.labels}"}}}}},
                     {"b", {{"plugin", "reader"}, {"params", {{"labels", "${params.labels}"}}}}}}}};
  auto errors = errors_of(workflow);
  ASSERT_EQ(errors.size(), 1u) << "one error for the run param, not one per step";
  EXPECT_EQ(errors[0].code, "path_outside_data_roots");
  EXPECT_EQ(errors[0].path, "/params/labels");
  EXPECT_NE(errors[0].message.find("used by steps.a.params.labels"), std::string::npos)
      << errors[0].message;
}

TEST_F(DataRootsTest, NoRootsRefusesEveryPath) {
  DataRoots none;
  EXPECT_FALSE(none.check(root_, "x").ok());
  EXPECT_EQ(none.describe(), "none");
}

TEST_F(DataRootsTest, RootGivenThroughASymlinkMatchesItsTarget) {
  fs::create_symlink(root_, base_ + "/root-link");
  DataRoots through_link({base_ + "/root-link/"});
  ASSERT_EQ(through_link.roots().size(), 1u);
  EXPECT_EQ(through_link.roots()[0], fs::canonical(root_).string());
  EXPECT_TRUE(through_link.check(root_ + "/labels.csv", "x").ok());
  EXPECT_FALSE(through_link.check(root_ + "-sibling/x", "x").ok()) << "prefix, not a folder";
}

TEST_F(DataRootsTest, WithoutRootsNothingIsChecked) {
  ValidationResult result = parse_workflow(step_with({{"images_dir", "/etc"}}).dump(), plugins_,
                                           testing::test_capacity());
  EXPECT_TRUE(result.ok());
}

}  // namespace
}  // namespace radflow
