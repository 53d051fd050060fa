// load_plugin's checks, in order, against the deliberately broken test plugins.
#include "orchestrator/worker/plugin_loader.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "orchestrator/worker/plugin_descriptor.h"

namespace radflow {
namespace {

namespace fs = std::filesystem;

const std::string kDir = RADFLOW_TEST_PLUGIN_DIR;
std::string plugin(const std::string& name) { return kDir + "/" + name + ".so"; }

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "rf-sdk-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void expect_error(const Result<LoadedPlugin>& result, const std::string& code,
                  const std::string& message_part) {
  ASSERT_FALSE(result.ok()) << "expected " << code;
  EXPECT_EQ(result.status().code(), code) << result.status().message();
  EXPECT_NE(result.status().message().find(message_part), std::string::npos)
      << result.status().message();
}

TEST(PluginLoaderTest, LoadsAWellFormedPlugin) {
  auto loaded = load_plugin(plugin("test-ok"), kDir, "test-ok");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_STREQ(loaded->plugin().name, "test-ok");
  EXPECT_EQ(loaded->path(), fs::canonical(plugin("test-ok")).string());
  auto descriptor = parse_descriptor(loaded->plugin(), loaded->path());
  ASSERT_TRUE(descriptor.ok()) << descriptor.status().to_string();
  ASSERT_EQ(descriptor->inputs.size(), 1u);
  EXPECT_EQ(descriptor->inputs[0].name, "in");
  EXPECT_TRUE(descriptor->inputs[0].optional);
  ASSERT_EQ(descriptor->outputs.size(), 2u);
  EXPECT_EQ(descriptor->outputs[0].name, "out");
  EXPECT_FALSE(descriptor->outputs[0].optional);
  EXPECT_EQ(descriptor->outputs[1].name, "extra");
  EXPECT_TRUE(descriptor->outputs[1].optional);
  EXPECT_EQ(descriptor->params_schema["properties"]["value"]["default"], 1);
}

TEST(PluginLoaderTest, EmptyExpectedNameSkipsTheNameCheck) {
  EXPECT_TRUE(load_plugin(plugin("test-fail"), kDir, "").ok());
}

TEST(PluginLoaderTest, AbiMismatchNamesBothVersionsAndTheFile) {
  auto result = load_plugin(plugin("test-bad-abi"), kDir, "test-bad-abi");
  expect_error(result, "abi_mismatch", "test-bad-abi.so");
  EXPECT_NE(result.status().message().find("99"), std::string::npos);
  EXPECT_NE(result.status().message().find("version 1"), std::string::npos);
}

TEST(PluginLoaderTest, AbiIsCheckedBeforeTheName) {
  expect_error(load_plugin(plugin("test-bad-abi"), kDir, "another-name"), "abi_mismatch", "99");
}

TEST(PluginLoaderTest, MissingEntrySymbol) {
  expect_error(load_plugin(plugin("test-no-symbol"), kDir, ""), "missing_entry_symbol",
               "test-no-symbol.so");
}

TEST(PluginLoaderTest, MissingFileIsDlopenFailed) {
  expect_error(load_plugin(kDir + "/does-not-exist.so", kDir, ""), "dlopen_failed",
               "does-not-exist.so");
}

TEST(PluginLoaderTest, NotASharedLibraryIsDlopenFailed) {
  TempDir dir;
  const std::string fake = dir.path() + "/fake.so";
  std::ofstream(fake) << "not an ELF file\n";
  expect_error(load_plugin(fake, dir.path(), ""), "dlopen_failed", "fake.so");
}

TEST(PluginLoaderTest, NameMismatchNamesBothNames) {
  auto result = load_plugin(plugin("test-ok"), kDir, "test-fail");
  expect_error(result, "name_mismatch", "test-ok.so");
  EXPECT_NE(result.status().message().find("'test-fail'"), std::string::npos);
}

// The ABI promise (docs/plugins.md): older headers load and run, newer ones are refused.
TEST(PluginLoaderTest, OlderHeaderPluginLoadsAndItsRunSeesTheHostPrefixItKnows) {
  auto loaded = load_plugin(plugin("test-old-header"), kDir, "test-old-header");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->plugin().struct_size, kPluginV1Size);
  struct Log {
    std::vector<std::string> lines;
  } log;
  rf_host host{};
  host.version = RF_HOST_VERSION;
  host.struct_size = sizeof(rf_host);
  host.ctx = &log;
  host.log = [](void* ctx, int32_t, const char* m) { static_cast<Log*>(ctx)->lines.push_back(m); };
  EXPECT_EQ(loaded->plugin().run(&host), RF_RUN_OK);
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_EQ(log.lines[0], "old header plugin ran");
}

TEST(PluginLoaderTest, NewerHeaderPluginIsRefusedWithWhatToDo) {
  auto result = load_plugin(plugin("test-new-header"), kDir, "");
  expect_error(result, "struct_size_mismatch", "newer radflow/plugin.h");
  EXPECT_NE(result.status().message().find("upgrade radflow or rebuild"), std::string::npos);
}

TEST(PluginLoaderTest, NamesOutsideTheAllowedCharactersAreInvalidName) {
  auto result = load_plugin(plugin("test-bad-name"), kDir, "");
  expect_error(result, "invalid_name", "Test_Bad_Name");
  EXPECT_NE(result.status().message().find("[a-z0-9][a-z0-9-]*"), std::string::npos);
}

TEST(PluginLoaderTest, PluginNameRule) {
  for (const char* good : {"a", "knn-probe", "probe2", "0x", "a--b", "a-"}) {
    EXPECT_TRUE(is_valid_plugin_name(good)) << good;
  }
  for (const char* bad : {"", "-a", "Probe", "knn_probe", "a b", "a.so", "a/b", "é"}) {
    EXPECT_FALSE(is_valid_plugin_name(bad)) << bad;
  }
}

TEST(PluginLoaderTest, PathOutsideThePluginDirIsRejectedFirst) {
  TempDir dir;
  // Even a broken plugin is refused for its location before anything is loaded.
  expect_error(load_plugin(plugin("test-bad-abi"), dir.path(), ""), "plugin_outside_dir",
               "test-bad-abi.so");
  expect_error(load_plugin(dir.path() + "/missing.so", kDir, ""), "plugin_outside_dir",
               "missing.so");
}

TEST(PluginLoaderTest, DotDotCannotEscapeThePluginDir) {
  TempDir dir;
  fs::create_directories(dir.path() + "/plugins");
  fs::copy_file(plugin("test-ok"), dir.path() + "/test-ok.so");
  expect_error(load_plugin(dir.path() + "/plugins/../test-ok.so", dir.path() + "/plugins", ""),
               "plugin_outside_dir", "test-ok.so");
}

TEST(PluginLoaderTest, SymlinkPointingOutsideIsRejected) {
  TempDir dir;
  fs::create_directories(dir.path() + "/plugins");
  fs::create_symlink(fs::canonical(plugin("test-ok")), dir.path() + "/plugins/test-ok.so");
  expect_error(load_plugin(dir.path() + "/plugins/test-ok.so", dir.path() + "/plugins", ""),
               "plugin_outside_dir", "outside the plugin dir");
}

TEST(PluginLoaderTest, MissingPluginDirIsOutside) {
  expect_error(load_plugin(plugin("test-ok"), "/nonexistent/radflow/plugins", ""),
               "plugin_outside_dir", "/nonexistent/radflow/plugins");
}

TEST(PluginDescriptorTest, MalformedPortsAreInvalidDescriptor) {
  rf_plugin p{};
  p.abi_version = RF_PLUGIN_ABI_VERSION;
  p.struct_size = sizeof(rf_plugin);
  p.name = "x";
  p.version = "1";
  p.params_schema_json = "{}";
  p.inputs_json = R"([{"description":"no name"}])";
  p.outputs_json = "[]";
  auto result = parse_descriptor(p, "x.so");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), "invalid_descriptor");
  EXPECT_NE(result.status().message().find("inputs_json[0]"), std::string::npos);

  p.inputs_json = nullptr;  // absent reads as no inputs
  p.params_schema_json = "[1, 2";
  result = parse_descriptor(p, "x.so");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("params_schema_json"), std::string::npos);
}

}  // namespace
}  // namespace radflow
