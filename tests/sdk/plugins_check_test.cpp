// `radflow plugins check FILE.so` on the test plugins: the usable ones print their
// descriptor and exit 0; each broken one prints the loader's code and exits 1.
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <string>

namespace {

const std::string kDir = RADFLOW_TEST_PLUGIN_DIR;

struct Check {
  int exit_code = -1;
  std::string out;
};

Check check(const std::string& file) {
  Check result;
  const std::string command =
      std::string(RADFLOW_BIN_DIR) + "/radflow plugins check '" + file + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST(PluginsCheckTest, AUsablePluginPrintsItsDescriptor) {
  const Check c = check(kDir + "/test-ok.so");
  EXPECT_EQ(c.exit_code, 0) << c.out;
  for (const char* expected : {"abi_version:  1", "name:         test-ok", "params schema: valid",
                               "inputs:\n  in (optional)", "outputs:\n  out", "test-ok.so: ok"}) {
    EXPECT_NE(c.out.find(expected), std::string::npos) << expected << " in\n" << c.out;
  }
}

TEST(PluginsCheckTest, AnOlderHeaderPluginIsUsable) {
  const Check c = check(kDir + "/test-old-header.so");
  EXPECT_EQ(c.exit_code, 0) << c.out;
  EXPECT_NE(c.out.find("name:         test-old-header"), std::string::npos) << c.out;
}

TEST(PluginsCheckTest, EachBrokenPluginIsReportedWithItsCode) {
  const struct {
    const char* plugin;
    const char* code;
  } cases[] = {{"test-bad-abi", "abi_mismatch"},
               {"test-no-symbol", "missing_entry_symbol"},
               {"test-new-header", "struct_size_mismatch"},
               {"test-bad-name", "invalid_name"}};
  for (const auto& c : cases) {
    const std::string file = kDir + "/" + c.plugin + ".so";
    const Check result = check(file);
    EXPECT_EQ(result.exit_code, 1) << c.plugin << "\n" << result.out;
    EXPECT_NE(result.out.find(file + ": broken: " + c.code + ": "), std::string::npos)
        << c.plugin << "\n" << result.out;
  }
}

TEST(PluginsCheckTest, NotAPluginAndUsageErrors) {
  const Check not_elf = check(std::string(RADFLOW_TEST_SOURCE_DIR) + "/plugins_check_test.cpp");
  EXPECT_EQ(not_elf.exit_code, 1) << not_elf.out;
  EXPECT_NE(not_elf.out.find("broken: dlopen_failed"), std::string::npos) << not_elf.out;
  EXPECT_EQ(check("/nonexistent/x.so").exit_code, 2);
}

}  // namespace
